"""What a background run's status and effort say, without the machinery that follows runs
(:mod:`pplx_cli.runs.resume`): an exchange that runs in the foreground needs only these."""

#: Statuses of a run that will not change any more.
TERMINAL = {"completed", "failed", "incomplete", "cancelled", "requires_action"}
#: The statuses of a run that is still going, besides the terminal ones.
GOING = {"queued", "in_progress"}
#: Efforts whose runs take long enough to be worth running in the background when streamed.
LONG_EFFORTS = {"medium", "high", "xhigh"}


def ended(status) -> bool:
    """Whether a run's status (any value from the network) says it has ended."""
    return isinstance(status, str) and status in TERMINAL


def is_long_effort(effort) -> bool:
    """Whether an effort (``high`` or pinned ``high@2026-10-16.0``) makes a long run."""
    return isinstance(effort, str) and effort.split("@", 1)[0] in LONG_EFFORTS
