"""Built-in agents: validator (issue 6); tester, deployer and monitor come later.

Each agent is a plain class behind the pipeline's ``Agent`` protocol; it reaches the
workspace only through its ``AgentContext``.
"""
