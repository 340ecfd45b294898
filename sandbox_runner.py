"""The SDK's workflow sandbox, without one cost: compiling the same lines of glue on every call.

temporalio's `SandboxedWorkflowRunner` (1.35) crosses into a workflow's sandbox by `exec`-ing a
source string: on every activation, and again for every sequence of payloads it converts to or
from the workflow (several per activation). `exec` of a string compiles it each time, 16 µs,
which py-spy put at 13.5 % of the worker's time holding the GIL in `make bench`
(docs/PERFORMANCE.md). This runner is the SDK's own with the compiled code kept: the same few
strings, run with the same globals, so the sandbox behaves exactly as before.

It reaches into a private class of the SDK (`_Instance`), whose version requirements.lock pins;
the workflow tests, which all run on it, fail if an upgrade changes what it overrides.
"""

from __future__ import annotations

from types import CodeType
from typing import Any

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

# By source: the SDK's fixed strings, plus one import line per workflow class. Bounded.
_compiled: dict[str, CodeType] = {}


def _compile(code: str) -> CodeType:
    compiled = _compiled.get(code)
    if compiled is None:
        # Concurrent activations may both compile it once; either result is the same.
        compiled = _compiled[code] = compile(code, "<string>", "exec")
    return compiled


class _CompiledOnceInstance(_Instance):
    def _run_code(self, code: str, **extra_globals: Any) -> None:
        # exec() runs a code object just as it runs the string it was compiled from.
        super()._run_code(_compile(code), **extra_globals)  # type: ignore[arg-type]


class CompiledOnceSandboxedWorkflowRunner(SandboxedWorkflowRunner):
    """`SandboxedWorkflowRunner` with its glue code compiled once per process."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _CompiledOnceInstance(det, self.runner_class, self.restrictions)
