"""What every pool of parallel requests shares (``pplx batch``, ``pplx verify``): one client
for every worker, with one rate limiter and one connection pool, and the signals that stop
the pool noted rather than raised wherever they land (see :func:`pplx_cli.runs.batch.run`)."""

import contextlib


def share_client(client, rate, jobs: int, say=None):
    """Make ``client`` one for ``jobs`` workers: one :class:`~pplx_cli.runs.batch.RateLimiter`
    (at most ``rate`` requests a second, None: as the service's headers allow; a long pause
    told to ``say``), and a connection pool keeping one connection per worker."""
    from requests.adapters import HTTPAdapter

    from pplx_cli.runs.batch import RateLimiter

    client.limiter = RateLimiter(rate, say=say)
    client.sleep = client.limiter.sleep  # a worker backing off before a retry gives up when the pool stops
    for scheme in ("http://", "https://"):  # one pool, one connection kept per worker
        client.session.mount(scheme, HTTPAdapter(pool_connections=1, pool_maxsize=jobs))


@contextlib.contextmanager
def noting_signals(signals):
    """While the pool runs, SIGINT, SIGTERM and SIGHUP are noted in ``signals`` (the pool
    stops between records) rather than raised wherever they land; one ignored (nohup) stays
    ignored. A third is raised at once as Abandoned: the pool is stuck (a write to a reader
    that stopped reading) and must end even mid-write."""
    import signal

    from pplx_cli.errors import Hangup, Terminated
    from pplx_cli.runs.batch import Abandoned

    def handler(kind):
        def note(number, frame):
            signals.note(kind())
            if len(signals.received) > 2:
                raise Abandoned(signals.received[-1])
        return note

    before = {}
    for signum, kind in ((signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated), (signal.SIGHUP, Hangup)):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            before[signum] = signal.signal(signum, handler(kind))
    try:
        yield
    finally:
        for signum, previous in before.items():
            signal.signal(signum, previous)
