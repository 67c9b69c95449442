"""Validator throughput on a generated GitOps repository, next to checkov.

    python bench/validate.py                          # 10,000 resources, 3 rounds
    python bench/validate.py --sizes 1000,10000       # how each tool scales with N
    python bench/validate.py --install-checkov        # first create .venv-bench/ with checkov
    python bench/validate.py --profile                # GC share, phases, cProfile top costs

Corpus. A deterministic (``--seed``) GitOps repository of N resources in a temporary
directory: ``manifests/<team>/<app>/<app>.yaml``, one namespace per team, a
``kustomization.yaml`` per team listing its files. Apps are web services (Deployment,
Service, and some of ConfigMap, Secret, ServiceAccount, Ingress, HPA, PDB,
NetworkPolicy, RoleBinding/Role), workers (Deployment without Service), CronJobs and
StatefulSets (headless and client Services); workloads have 1-3 containers with
requests/limits, probes, env (literal, ConfigMap and Secret keys), envFrom, volumes
and security contexts. Most apps are one file of 3-8 documents, a quarter are split
into ``workload.yaml`` + ``support.yaml``. About ``--defects`` (3 %) of resources get
a realistic defect: a typo'd field (``replica:``, ``containerport:``), a broken
ConfigMap / Secret-key / Service-selector / Ingress-backend / HPA-target / PDB
reference, a probe on an undeclared port name, a ``:latest`` tag, no resources, a
privileged container, a literal password in env.

Ours. ``Validator(registry=None).validate(from_directory(root))``: walking and
reading the files, YAML loading, every check (schema, references, workloads,
configs) and the policies. The image registry check is OFF (``registry=None``): it
would measure the network. *Warm* is the server case — one ``Validator`` kept
between runs (its compiled schemas cached) after one unmeasured run; best and median
of ``--rounds``. *Cold* is a fresh interpreter per run: ``Validator()`` + the same
``validate`` (schemas compiled on first use); the import time of the validator is
printed beside it, the interpreter start is not counted.

Peer. ``checkov -d DIR --framework kubernetes --quiet --compact -o json`` (PyPI
``checkov``), wall time of the whole CLI (its own start included; its start on a
one-resource repository is printed too), JSON output to a file, with
``BC_SKIP_MAPPING=TRUE`` and ``CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE`` (no mapping download,
no update check). checkov's parallel runner may use every CPU; ours uses one. It lives
in its own virtualenv (its pins conflict with ours): ``.venv-bench/bin/checkov``,
else ``checkov`` on PATH; ``--install-checkov`` creates ``.venv-bench/`` with
``python3.11 -m venv`` and pip. Without checkov only our figures are printed.

Resources/s is the corpus's Kubernetes objects over seconds, for both tools (checkov's
own ``resource_count`` is higher: it also counts each workload's pod template; it is
printed beside). The ratio is checkov's best seconds over ours (warm, and cold) on
the same corpus. Nothing is asserted; the goal lines say whether the figures meet
≥ 3,000 resources/s and ≥ 30x checkov.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import gc
import json
import os
import platform
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pilothouse.agents.validator import loading, policies
from pilothouse.agents.validator.loading import from_directory
from pilothouse.agents.validator.validating import Report, Validator

REPO = Path(__file__).resolve().parents[1]
BENCH_VENV = REPO / ".venv-bench"
GOAL_RATE = 3000
GOAL_RATIO = 30


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Multi-line strings as ``|`` blocks, as people write them."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)

TEAMS = [
    "payments", "checkout", "search", "identity", "catalog", "shipping", "ml-platform",
    "notifications", "billing", "growth", "data-eng", "observability", "edge", "mobile-api",
    "fraud", "support",
]  # fmt: skip
WORDS_A = [
    "order", "cart", "user", "price", "stock", "media", "report", "event", "ledger", "quote",
    "session", "profile", "review", "coupon", "invoice", "feed", "rank", "geo", "audit", "token",
]  # fmt: skip
WORDS_B = [
    "api", "service", "worker", "gateway", "sync", "indexer", "scheduler", "proxy", "store",
    "exporter", "consumer", "publisher", "resolver", "router", "cache",
]  # fmt: skip
SIDECARS = [
    ("envoy", "registry.example.com/platform/envoy:v1.30.2", 9901),
    ("log-shipper", "registry.example.com/platform/fluent-bit:3.0.7", 2020),
    ("oauth-proxy", "quay.io/oauth2-proxy/oauth2-proxy:v7.6.0", 4180),
    ("cloudsql-proxy", "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.11.0", 9801),
]
LEVELS = ["info", "info", "warn"]
SUPPORT_KINDS = ("ConfigMap", "Secret", "ServiceAccount", "Role", "RoleBinding", "NetworkPolicy")
DEFECTS = [
    "typo-replicas",
    "typo-containerport",
    "configmap-missing",
    "secret-key-missing",
    "service-selector",
    "ingress-backend",
    "hpa-target",
    "pdb-selector",
    "probe-port-name",
    "latest-tag",
    "no-resources",
    "privileged",
    "password-in-env",
]

COLD = """
import json, sys, time
t0 = time.perf_counter()
from pilothouse.agents.validator.loading import from_directory
from pilothouse.agents.validator.validating import Validator
t1 = time.perf_counter()
report = Validator(registry=None).validate(from_directory(sys.argv[1]))
t2 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "seconds": t2 - t1, "resources": report.resources}))
"""


# -- corpus ---------------------------------------------------------------------------------


@dataclass
class Row:
    resources: int
    warm: float  # best seconds
    cold: float
    checkov: float | None = None


@dataclass
class Stats:
    resources: int = 0
    files: int = 0
    bytes: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    defects: Counter[str] = field(default_factory=Counter)


def _labels(app: str, team: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": team, "team": team}


def _meta(kind: str, api: str, name: str, team: str, app: str, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "namespace": team, "labels": _labels(app, team), **extra},
    }


def _version(rng: random.Random) -> str:
    return f"{rng.randint(0, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 12)}"


def _resources(rng: random.Random, scale: int = 1) -> dict[str, Any]:
    cpu = rng.choice([50, 100, 200, 250, 500]) * scale
    memory = rng.choice([64, 128, 256, 512, 1024]) * scale
    limits: dict[str, str] = {"memory": f"{memory * 2}Mi"}
    if rng.random() < 0.5:
        limits["cpu"] = f"{cpu * 4}m"
    return {"requests": {"cpu": f"{cpu}m", "memory": f"{memory}Mi"}, "limits": limits}


def _container_security() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _probe(port: str | int, path: str, rng: random.Random) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "initialDelaySeconds": rng.choice([0, 5, 10]),
        "periodSeconds": rng.choice([5, 10, 15]),
        "failureThreshold": 3,
    }


class _App:
    """One application: its documents, built so that every reference resolves."""

    def __init__(self, rng: random.Random, team: str, name: str, archetype: str) -> None:
        self.rng, self.team, self.name, self.archetype = rng, team, name, archetype
        self.docs: list[dict[str, Any]] = []
        self.config_keys = ["feature-flags", "log-format", f"{name}.yaml"]
        self.secret_keys = ["db-password", "api-token"]

    def build(self, limit: int) -> list[dict[str, Any]]:
        rng = self.rng
        optional = {
            "web": ["ConfigMap", "Secret", "ServiceAccount", "HPA", "PDB", "Ingress", "NetPol",
                    "RoleBinding"],
            "worker": ["ConfigMap", "Secret", "ServiceAccount", "HPA", "PDB", "NetPol"],
            "cron": ["ConfigMap", "Secret", "ServiceAccount", "RoleBinding"],
            "stateful": ["ConfigMap", "Secret", "ServiceAccount", "PDB", "NetPol"],
        }[self.archetype]  # fmt: skip
        chance = {"ConfigMap": 0.9, "Secret": 0.7, "ServiceAccount": 0.8, "HPA": 0.5, "PDB": 0.5,
                  "Ingress": 0.5, "NetPol": 0.4, "RoleBinding": 0.25}  # fmt: skip
        core = {"web": 2, "worker": 1, "cron": 1, "stateful": 3}[self.archetype]
        room = max(0, min(8, limit) - core)
        picked = [k for k in optional if rng.random() < chance[k]]
        if len(picked) < 3 - core:  # at least three documents per app
            picked += [k for k in optional if k not in picked][: 3 - core - len(picked)]
        has = set(picked[:room])
        if "RoleBinding" in has and room - len(has) >= 1 and rng.random() < 0.5:
            has.add("Role")
        self.has = has
        if "ConfigMap" in has:
            self.docs.append(self.configmap())
        if "Secret" in has:
            self.docs.append(self.secret())
        if "ServiceAccount" in has:
            self.docs.append(_meta("ServiceAccount", "v1", self.name, self.team, self.name))
        self.docs.append(self.workload())
        if self.archetype == "web":
            self.docs.append(self.service(self.name, 80, "http"))
        if self.archetype == "stateful":
            headless = self.service(f"{self.name}-headless", 5432, "tcp")
            headless["spec"]["clusterIP"] = "None"
            self.docs += [headless, self.service(self.name, 5432, "tcp")]
        if "Ingress" in has:
            self.docs.append(self.ingress())
        if "HPA" in has:
            self.docs.append(self.hpa())
        if "PDB" in has:
            self.docs.append(self.pdb())
        if "NetPol" in has:
            self.docs.append(self.network_policy())
        if "Role" in has:
            self.docs.append(self.role())
        if "RoleBinding" in has:
            self.docs.append(self.role_binding("Role" in has))
        return self.docs

    # documents --------------------------------------------------------------------------

    def configmap(self) -> dict[str, Any]:
        doc = _meta("ConfigMap", "v1", f"{self.name}-config", self.team, self.name)
        doc["data"] = {
            "feature-flags": "checkout-v2=on,fast-path=off",
            "log-format": "json",
            f"{self.name}.yaml": (
                f"server:\n  port: 8080\n  gracefulShutdown: 20s\nupstream:\n"
                f"  url: http://{self.rng.choice(WORDS_A)}-api.{self.team}.svc:80\n"
                f"  timeout: {self.rng.choice([1, 2, 5])}s\n"
            ),
        }
        return doc

    def secret(self) -> dict[str, Any]:
        doc = _meta("Secret", "v1", f"{self.name}-secrets", self.team, self.name)
        doc["type"] = "Opaque"
        doc["data"] = {
            key: base64.b64encode(self.rng.randbytes(18)).decode() for key in self.secret_keys
        }
        return doc

    def container(self, main: bool, index: int) -> dict[str, Any]:
        rng = self.rng
        if not main:
            name, image, port = SIDECARS[index % len(SIDECARS)]
            return {
                "name": name,
                "image": image,
                "ports": [{"name": f"admin-{index}", "containerPort": port}],
                "resources": _resources(rng),
                "securityContext": _container_security(),
            }
        c: dict[str, Any] = {
            "name": self.name,
            "image": f"registry.example.com/{self.team}/{self.name}:{_version(rng)}",
            "imagePullPolicy": "IfNotPresent",
            "args": ["--config=/etc/app/config.yaml", f"--log-level={rng.choice(LEVELS)}"],
        }
        if self.archetype != "cron":
            c["ports"] = [
                {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
            ]
            if self.archetype == "stateful":
                c["ports"].insert(0, {"name": "tcp", "containerPort": 5432, "protocol": "TCP"})
        env: list[dict[str, Any]] = [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "APP_ENV", "value": "production"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ]
        if "Secret" in self.has:
            env.append(
                {
                    "name": "DB_PASSWORD",
                    "valueFrom": {
                        "secretKeyRef": {"name": f"{self.name}-secrets", "key": "db-password"}
                    },
                }
            )
        if "ConfigMap" in self.has:
            env.append(
                {
                    "name": "FEATURE_FLAGS",
                    "valueFrom": {
                        "configMapKeyRef": {"name": f"{self.name}-config", "key": "feature-flags"}
                    },
                }
            )
            c["envFrom"] = [{"configMapRef": {"name": f"{self.name}-config"}}]
        c["env"] = env
        c["resources"] = _resources(rng, 2 if self.archetype == "stateful" else 1)
        if self.archetype != "cron":
            c["readinessProbe"] = _probe("http", "/ready", rng)  # by name, as most repos do
            c["livenessProbe"] = _probe(8080, "/healthz", rng)
        c["securityContext"] = _container_security()
        mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
        if "ConfigMap" in self.has:
            mounts.append({"name": "config", "mountPath": "/etc/app", "readOnly": True})
        if self.archetype == "stateful":
            mounts.append({"name": "data", "mountPath": "/var/lib/data"})
        c["volumeMounts"] = mounts
        return c

    def pod_spec(self) -> dict[str, Any]:
        rng = self.rng
        count = rng.choices([1, 2, 3], weights=[6, 3, 1])[0]
        containers = [self.container(i == 0, rng.randrange(len(SIDECARS))) for i in range(count)]
        spec: dict[str, Any] = {}
        if "ServiceAccount" in self.has:
            spec["serviceAccountName"] = self.name
        spec["securityContext"] = {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        spec["terminationGracePeriodSeconds"] = 30
        spec["containers"] = containers
        volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
        if "ConfigMap" in self.has:
            volumes.append({"name": "config", "configMap": {"name": f"{self.name}-config"}})
        spec["volumes"] = volumes
        if rng.random() < 0.3:
            spec["topologySpreadConstraints"] = [
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": {"app.kubernetes.io/name": self.name}},
                }
            ]
        return spec

    def template(self) -> dict[str, Any]:
        return {
            "metadata": {
                "labels": _labels(self.name, self.team),
                "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
            },
            "spec": self.pod_spec(),
        }

    def workload(self) -> dict[str, Any]:
        rng = self.rng
        selector = {"matchLabels": {"app.kubernetes.io/name": self.name}}
        if self.archetype == "cron":
            doc = _meta("CronJob", "batch/v1", self.name, self.team, self.name)
            template = self.template()
            template["spec"]["restartPolicy"] = "OnFailure"
            doc["spec"] = {
                "schedule": f"{rng.randrange(60)} {rng.randrange(24)} * * *",
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 1,
                "jobTemplate": {"spec": {"backoffLimit": 2, "template": template}},
            }
            return doc
        if self.archetype == "stateful":
            doc = _meta("StatefulSet", "apps/v1", self.name, self.team, self.name)
            doc["spec"] = {
                "serviceName": f"{self.name}-headless",
                "replicas": 3,
                "selector": selector,
                "template": self.template(),
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "storageClassName": "ssd",
                            "resources": {"requests": {"storage": f"{rng.choice([10, 50])}Gi"}},
                        },
                    }
                ],
            }
            return doc
        doc = _meta("Deployment", "apps/v1", self.name, self.team, self.name)
        doc["spec"] = {
            "replicas": rng.choice([2, 3, 3, 4, 6]),
            "revisionHistoryLimit": 5,
            "selector": selector,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
            },
            "template": self.template(),
        }
        return doc

    def service(self, name: str, port: int, target: str) -> dict[str, Any]:
        doc = _meta("Service", "v1", name, self.team, self.name)
        doc["spec"] = {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": self.name},
            "ports": [
                {"name": target, "port": port, "targetPort": target, "protocol": "TCP"},
            ],
        }
        return doc

    def ingress(self) -> dict[str, Any]:
        host = f"{self.name}.{self.team}.example.com"
        doc = _meta(
            "Ingress",
            "networking.k8s.io/v1",
            self.name,
            self.team,
            self.name,
            annotations={"cert-manager.io/cluster-issuer": "letsencrypt"},
        )
        backend = {"service": {"name": self.name, "port": {"number": 80}}}
        doc["spec"] = {
            "ingressClassName": "nginx",
            "tls": [{"hosts": [host], "secretName": f"{self.name}-tls"}],
            "rules": [
                {
                    "host": host,
                    "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                }
            ],
        }
        return doc

    def hpa(self) -> dict[str, Any]:
        doc = _meta("HorizontalPodAutoscaler", "autoscaling/v2", self.name, self.team, self.name)
        doc["spec"] = {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": self.name},
            "minReplicas": 2,
            "maxReplicas": self.rng.choice([6, 10, 20]),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        }
        return doc

    def pdb(self) -> dict[str, Any]:
        doc = _meta("PodDisruptionBudget", "policy/v1", self.name, self.team, self.name)
        doc["spec"] = {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": self.name}},
        }
        return doc

    def network_policy(self) -> dict[str, Any]:
        doc = _meta("NetworkPolicy", "networking.k8s.io/v1", self.name, self.team, self.name)
        doc["spec"] = {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": self.name}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {"name": "ingress-nginx"}}},
                        {"podSelector": {"matchLabels": {"team": self.team}}},
                    ],
                    "ports": [{"protocol": "TCP", "port": 8080}],
                }
            ],
        }
        return doc

    def role(self) -> dict[str, Any]:
        doc = _meta("Role", "rbac.authorization.k8s.io/v1", self.name, self.team, self.name)
        doc["rules"] = [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
             "verbs": ["get", "create", "update"]},
        ]  # fmt: skip
        return doc

    def role_binding(self, own_role: bool) -> dict[str, Any]:
        doc = _meta("RoleBinding", "rbac.authorization.k8s.io/v1", self.name, self.team, self.name)
        doc["roleRef"] = {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role" if own_role else "ClusterRole",
            "name": self.name if own_role else "view",
        }
        account = self.name if "ServiceAccount" in self.has else "default"
        doc["subjects"] = [{"kind": "ServiceAccount", "name": account, "namespace": self.team}]
        return doc


def _find(docs: list[dict[str, Any]], *kinds: str) -> dict[str, Any] | None:
    return next((d for d in docs if d["kind"] in kinds), None)


def _pod(doc: dict[str, Any]) -> dict[str, Any]:
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    return doc["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def _inject(rng: random.Random, docs: list[dict[str, Any]]) -> str | None:
    """Break one thing the way people do; the defect's name, or None if none fits."""
    workload = _find(docs, "Deployment", "StatefulSet", "CronJob")
    if workload is None:  # the last app, cut short to reach N exactly
        return None
    main = _pod(workload)["containers"][0]
    for defect in rng.sample(DEFECTS, len(DEFECTS)):
        if defect == "typo-replicas" and "replicas" in workload["spec"]:
            workload["spec"]["replica"] = workload["spec"].pop("replicas")
        elif defect == "typo-containerport" and main.get("ports"):
            port = main["ports"][-1]
            port["containerport"] = port.pop("containerPort")
        elif defect == "configmap-missing" and main.get("envFrom"):
            main["envFrom"][0]["configMapRef"]["name"] += "s"
        elif defect == "secret-key-missing" and (
            ref := next((e for e in main["env"] if "secretKeyRef" in e.get("valueFrom", {})), None)
        ):
            ref["valueFrom"]["secretKeyRef"]["key"] = "db_password"
        elif defect == "service-selector" and (svc := _find(docs, "Service")):
            svc["spec"]["selector"]["app.kubernetes.io/name"] += "-svc"
        elif defect == "ingress-backend" and (ing := _find(docs, "Ingress")):
            backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]
            backend["service"]["name"] += "-web"
        elif defect == "hpa-target" and (hpa := _find(docs, "HorizontalPodAutoscaler")):
            hpa["spec"]["scaleTargetRef"]["name"] += "-deployment"
        elif defect == "pdb-selector" and (pdb := _find(docs, "PodDisruptionBudget")):
            pdb["spec"]["selector"]["matchLabels"] = {"app": pdb["metadata"]["name"]}
        elif defect == "probe-port-name" and "readinessProbe" in main:
            main["readinessProbe"]["httpGet"]["port"] = "health"
        elif defect == "latest-tag":
            main["image"] = main["image"].rsplit(":", 1)[0] + ":latest"
        elif defect == "no-resources":
            del main["resources"]
        elif defect == "privileged":
            main["securityContext"] = {"privileged": True}
        elif defect == "password-in-env":
            main["env"].append({"name": "ADMIN_PASSWORD", "value": "s3cr3t-Pa55"})
        else:
            continue
        return defect
    return None


def generate(root: Path, resources: int, seed: int, defect_rate: float) -> Stats:
    """Write the corpus under ``root``; deterministic for a given seed and size."""
    rng = random.Random(seed)
    stats = Stats()
    names: Counter[tuple[str, str]] = Counter()
    listed: dict[str, list[str]] = {}
    while stats.resources < resources:
        team = rng.choice(TEAMS)
        base = f"{rng.choice(WORDS_A)}-{rng.choice(WORDS_B)}"
        names[team, base] += 1
        name = base if names[team, base] == 1 else f"{base}-{names[team, base]}"
        archetype = rng.choices(["web", "worker", "cron", "stateful"], weights=[55, 20, 15, 10])[0]
        app = _App(rng, team, name, archetype)
        docs = app.build(resources - stats.resources)[: resources - stats.resources]
        if docs and rng.random() < defect_rate * len(docs):
            defect = _inject(rng, docs)
            if defect:
                stats.defects[defect] += 1
        folder = root / "manifests" / team / name
        folder.mkdir(parents=True, exist_ok=True)
        if rng.random() < 0.25 and len(docs) > 3:
            support = [d for d in docs if d["kind"] in SUPPORT_KINDS]
            workload = [d for d in docs if d["kind"] not in SUPPORT_KINDS]
            parts = {"workload.yaml": workload, "support.yaml": support}
        else:
            parts = {f"{name}.yaml": docs}
        for file, part in parts.items():
            if not part:
                continue
            text = f"# {team}/{name}: managed by the {team} team\n" + yaml.dump_all(
                part, Dumper=_Dumper, sort_keys=False, explicit_start=True, width=100
            )
            (folder / file).write_text(text)
            listed.setdefault(team, []).append(f"{name}/{file}")
            stats.files += 1
            stats.bytes += len(text)
        stats.resources += len(docs)
        stats.kinds.update(d["kind"] for d in docs)
    for team, files in listed.items():
        kustomization = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "namespace": team,
            "resources": files,
        }
        text = yaml.dump(kustomization, Dumper=_Dumper, sort_keys=False)
        (root / "manifests" / team / "kustomization.yaml").write_text(text)
    return stats


# -- measuring ------------------------------------------------------------------------------


def ours_warm(validator: Validator, root: Path, rounds: int) -> tuple[list[float], Report]:
    report = validator.validate(from_directory(str(root)))  # unmeasured: compiles the schemas
    times = []
    for _ in range(rounds):
        gc.collect()  # the previous run's garbage is not this run's cost
        started = time.perf_counter()
        report = validator.validate(from_directory(str(root)))
        times.append(time.perf_counter() - started)
    return times, report


def ours_cold(root: Path, rounds: int) -> tuple[list[float], list[float], int]:
    times, imports, resources = [], [], 0
    for _ in range(rounds):
        out = subprocess.run(
            [sys.executable, "-c", COLD, str(root)],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        data = json.loads(out.strip().splitlines()[-1])
        times.append(data["seconds"])
        imports.append(data["imports"])
        resources = data["resources"]
    return times, imports, resources


def install_checkov() -> None:
    python = shutil.which("python3.11") or sys.executable
    if not (BENCH_VENV / "bin" / "python").exists():
        print(f"creating {BENCH_VENV.relative_to(REPO)}/ with {python}")
        subprocess.run([python, "-m", "venv", str(BENCH_VENV)], check=True)
    print("pip install checkov (a few minutes the first time)")
    pip = [str(BENCH_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "checkov"], check=True)


def find_checkov() -> str | None:
    local = BENCH_VENV / "bin" / "checkov"
    return str(local) if local.exists() else shutil.which("checkov")


def checkov_version(exe: str) -> str:
    out = subprocess.run(
        [exe, "--version"], capture_output=True, text=True, env=_checkov_env(), check=False
    )
    return out.stdout.strip() or "?"


def _checkov_env() -> dict[str, str]:
    return {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"}


def checkov_run(exe: str, root: Path) -> tuple[float, dict[str, Any]]:
    """One CLI run: wall seconds and checkov's summary (resource_count, passed, failed)."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        done = subprocess.run(
            [exe, "-d", str(root), "--framework", "kubernetes", "--quiet", "--compact",
             "-o", "json"],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env=_checkov_env(),
            check=False,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        out.seek(0)
        raw = out.read()
    if done.returncode not in (0, 1):  # 1: some check failed
        raise RuntimeError(f"checkov exited {done.returncode}: {done.stderr[-2000:]}")
    data = json.loads(raw) if raw.strip() else {}
    if isinstance(data, list):
        data = next((d for d in data if d.get("check_type") == "kubernetes"), data[0])
    return seconds, data.get("summary", {})


def checkov_rounds(exe: str, root: Path, rounds: int) -> tuple[list[float], dict[str, Any]]:
    times: list[float] = []
    summary: dict[str, Any] = {}
    for _ in range(rounds):
        seconds, summary = checkov_run(exe, root)
        times.append(seconds)
    return times, summary


def profile(validator: Validator, root: Path, top: int) -> None:
    gc.collect()
    profiler = cProfile.Profile()
    profiler.enable()
    validator.validate(from_directory(str(root)))
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"\nprofile of one warm run ({total:.2f} s under cProfile), top {top} by cumulative:")
    stats.sort_stats("cumulative").print_stats(top)
    print(f"top {top} by own time:")
    stats.sort_stats("tottime").print_stats(top)


def phases(validator: Validator, root: Path) -> None:
    """Where a warm run goes: garbage collection, then loading and each check, GC on and off.

    cProfile charges a collection to whatever function allocated when it started, so
    the collector's share is measured apart, with ``gc.callbacks``.
    """
    spent, began, collections = [0.0], [0.0], Counter[int]()

    def clock(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            spent[0] += time.perf_counter() - began[0]
            collections[info["generation"]] += 1

    gc.collect()
    gc.callbacks.append(clock)
    try:
        started = time.perf_counter()
        validator.validate(from_directory(str(root)))
        total = time.perf_counter() - started
    finally:
        gc.callbacks.remove(clock)
    print(
        f"\nwarm run {total:.2f} s, of which garbage collection {spent[0]:.2f} s "
        f"({collections[0]} gen-0, {collections[1]} gen-1, {collections[2]} gen-2 collections)"
    )
    for enabled in (True, False):
        gc.collect()
        if not enabled:
            gc.disable()
        try:
            started = time.perf_counter()
            corpus = loading.load(from_directory(str(root))).corpus
            times = {"load (read + YAML)": time.perf_counter() - started}
            for check in validator._checks(policies.Policies(), None, None, None):
                started = time.perf_counter()
                for _ in check.run(corpus):
                    pass
                times[type(check).__name__] = time.perf_counter() - started
        finally:
            gc.enable()
        print(
            f"  GC {'on ' if enabled else 'off'}: "
            + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in times.items())
        )


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>9,.0f}/s" if seconds > 0 else "        -"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000", help="resources per corpus, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs per tool and size")
    parser.add_argument("--checkov-rounds", type=int, help="checkov runs (default: --rounds)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--defects", type=float, default=0.03, help="share of defective resources")
    parser.add_argument("--install-checkov", action="store_true", help="create .venv-bench/")
    parser.add_argument("--no-checkov", action="store_true", help="only our figures")
    parser.add_argument("--profile", action="store_true", help="where the time goes (largest N)")
    parser.add_argument("--keep", metavar="DIR", help="write the corpora under DIR and keep them")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    checkov_n = args.checkov_rounds or args.rounds

    if args.install_checkov:
        install_checkov()
    exe = None if args.no_checkov else find_checkov()
    peer = f"checkov {checkov_version(exe)} ({exe})" if exe else "checkov: not run"
    print(
        f"python {platform.python_version()} · {os.cpu_count()} cpus · sizes {sizes} · "
        f"{args.rounds} rounds · seed {args.seed} · registry check off · {peer}"
    )
    if exe is None and not args.no_checkov:
        print(
            "checkov not found (.venv-bench/bin/checkov or PATH): only our figures. "
            "Install it with --install-checkov."
        )

    validator = Validator(registry=None)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        startup = None
        if exe:
            tiny = base / "tiny"
            generate(tiny, 1, args.seed, 0.0)
            startup = min(checkov_run(exe, tiny)[0] for _ in range(2))
            print(f"checkov start (1 resource): {startup:.2f} s")
        for n in sizes:
            root = base / f"repo-{n}"
            if root.exists():
                shutil.rmtree(root)
            started = time.perf_counter()
            stats = generate(root, n, args.seed, args.defects)
            made = time.perf_counter() - started
            kinds = ", ".join(f"{k} {c}" for k, c in stats.kinds.most_common())
            print(
                f"\n{n:,} resources · {stats.files:,} files · {stats.bytes / 1e6:.1f} MB · "
                f"{sum(stats.defects.values())} defects injected · generated in {made:.1f} s"
            )
            print(f"  kinds: {kinds}")
            print("  defects: " + ", ".join(f"{k} {c}" for k, c in stats.defects.most_common()))
            warm, report = ours_warm(validator, root, args.rounds)
            cold, imports, _ = ours_cold(root, args.rounds)
            found = report.counts
            print(
                f"  findings: {found['error']} errors, {found['warning']} warnings, "
                f"{found['info']} info (categories: "
                + ", ".join(
                    f"{c} {k}"
                    for k, c in Counter(f.category for f in report.findings).most_common(8)
                )
                + ", …)"
            )
            r = report.resources  # = n: every generated document is one object
            print(
                f"  ours warm   best {min(warm):6.2f} s {rate(r, min(warm))}   "
                f"median {statistics.median(warm):6.2f} s {rate(r, statistics.median(warm))}"
            )
            print(
                f"  ours cold   best {min(cold):6.2f} s {rate(r, min(cold))}   "
                f"median {statistics.median(cold):6.2f} s {rate(r, statistics.median(cold))}"
                f"   (+ imports {statistics.median(imports):.2f} s)"
            )
            row = Row(r, min(warm), min(cold))
            if exe:
                times, summary = checkov_rounds(exe, root, checkov_n)
                print(
                    f"  checkov     best {min(times):6.2f} s {rate(r, min(times))}   "
                    f"median {statistics.median(times):6.2f} s "
                    f"{rate(r, statistics.median(times))}   (it counts "
                    f"{summary.get('resource_count', '?')} resources; "
                    f"{summary.get('passed', '?')} passed, {summary.get('failed', '?')} failed, "
                    f"{summary.get('parsing_errors', '?')} parsing errors)"
                )
                row.checkov = min(times)
            rows.append(row)
        if args.profile:
            phases(validator, base / f"repo-{sizes[-1]}")
            profile(validator, base / f"repo-{sizes[-1]}", 15)

    print("\nsummary (best of rounds; x = checkov seconds / ours, same corpus)")
    print(f"{'resources':>10} {'ours warm':>12} {'ours cold':>12} {'checkov':>12} "
          f"{'x warm':>8} {'x cold':>8}")  # fmt: skip
    for row in rows:
        n, ck = row.resources, row.checkov
        line = f"{n:>10,} {n / row.warm:>10,.0f}/s {n / row.cold:>10,.0f}/s"
        if ck:
            line += f" {n / ck:>10,.0f}/s {ck / row.warm:>7.1f}x {ck / row.cold:>7.1f}x"
        print(line)
    last = rows[-1]
    ours_rate = last.resources / last.warm
    print(
        f"goal ≥ {GOAL_RATE:,} resources/s (warm, {last.resources:,}): "
        f"{'met' if ours_rate >= GOAL_RATE else 'missed'} ({ours_rate:,.0f}/s)"
    )
    if last.checkov:
        ratio = last.checkov / last.warm
        print(
            f"goal ≥ {GOAL_RATIO}x checkov (warm, {last.resources:,}): "
            f"{'met' if ratio >= GOAL_RATIO else 'missed'} ({ratio:.1f}x)"
        )
    if startup is not None:
        print(f"(checkov's own start, {startup:.2f} s, is inside its figures)")


if __name__ == "__main__":
    main()
