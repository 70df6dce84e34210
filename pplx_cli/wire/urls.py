"""URLs as pplx shows them: never with a user or password in them. Cheap to import: nothing
here loads the HTTP stack."""


def shown_url(url: str) -> str:
    """The URL as pplx shows it: any user and password replaced by ``[redacted]``."""
    at = url.find("@", url.find("//") + 2)
    slash = url.find("/", url.find("//") + 2)
    if at < 0 or (0 <= slash < at):
        return url
    return url[:url.find("//") + 2] + "[redacted]" + url[at:]


def is_http_url(url) -> bool:
    """An absolute http(s) URL with a host and no white space (never an option's spelling)."""
    from urllib.parse import urlsplit

    if not isinstance(url, str) or any(c.isspace() or not c.isprintable() or "\u202a" <= c <= "\u202e"
                                       or "\u2066" <= c <= "\u2069" for c in url):
        return False  # white space, controls, bidi overrides: no URL a link may carry
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def page_key(url: str):
    """What two spellings of the same page have in common: the host in any case or as IDNA,
    without a default port; the path with percent-escapes decoded and no trailing slash; the
    query. http and https are the same page."""
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return url
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    return (host, None if port in (80, 443) else port, unquote(parts.path).rstrip("/"), parts.query)
