"""``image.not-found``: does every image the manifests deploy exist in its registry?

Asked of the registry itself (``HEAD /v2/<name>/manifests/<tag>``, through
:class:`pilothouse.integrations.registry.RegistryClient`), all images at once and
concurrently, cached. Only a definite "no such manifest" is an **error**; a registry
that refuses us (credentials) or does not answer is an **info** finding — the check
could not run, which must never block a deployment by itself.
"""

from __future__ import annotations

from collections.abc import Iterator

from pilothouse.agents.validator.checks.workload import templated
from pilothouse.agents.validator.model import Corpus, Evidence, Finding, Manifest, RuleInfo
from pilothouse.agents.validator.workloads import pod_template
from pilothouse.integrations.registry import ImageRef, InvalidImage, RegistryClient, parse_image

RULES = (
    RuleInfo(
        "image-reference-invalid", "schema.invalid", "error", "an image name that cannot be pulled"
    ),
    RuleInfo("image-not-found", "image.not-found", "error", "the image tag is not in its registry"),
    RuleInfo(
        "image-unverified",
        "image.not-found",
        "info",
        "the registry could not be asked (unreachable or unauthorised)",
    ),
)


class RegistryCheck:
    rules: tuple[RuleInfo, ...] = RULES

    def __init__(self, client: RegistryClient) -> None:
        self.client = client

    def run(self, corpus: Corpus) -> Iterator[Finding]:
        uses: list[tuple[Manifest, str, str, ImageRef]] = []
        for m in corpus.manifests:
            template = pod_template(m)
            if template is None:
                continue
            for container, path in template.containers():
                image = container.get("image")
                if not isinstance(image, str) or not image or templated(image):
                    continue  # a missing image is the schema's; a placeholder is filled later
                try:
                    uses.append((m, image, f"{path}.image", parse_image(image)))
                except InvalidImage as e:
                    yield m.finding(
                        "schema.invalid",
                        "image-reference-invalid",
                        "error",
                        f"{image!r} is not a valid image reference: {e.details.get('reason', '')}",
                        path=f"{path}.image",
                        hint="Write [registry/]repository[:tag][@digest], in lower case",
                    )
        if not uses:
            return
        answers = self.client.check_many({str(ref): ref for *_, ref in uses}.values())
        for m, image, path, ref in uses:
            answer = answers.get(str(ref))
            if answer is None or answer.status == "found":
                continue
            cited = Evidence("registry", answer.url, answer.detail)
            if answer.status == "not_found":
                yield m.finding(
                    "image.not-found",
                    "image-not-found",
                    "error",
                    f"image {image} does not exist in its registry; the pod would not start",
                    path=path,
                    hint="Push the image first, or fix the tag",
                    evidence=[cited],
                )
            else:
                yield m.finding(
                    "image.not-found",
                    "image-unverified",
                    "info",
                    f"could not verify image {image}: {answer.status} ({answer.detail})",
                    path=path,
                    hint="Configure registry credentials for the validator, or check the network",
                    evidence=[cited],
                )
