"""The wire: HTTP (the requests session, timeouts, retries, TLS, keep-alive), response bodies, and
server-sent event framing. Owns everything between a request body and a stream of events.

May import: pplx_cli's base modules (errors, jsonsafe, numbers, choices) only.
"""
