"""URLs as pplx shows them: never with a user or password in them. Cheap to import: nothing
here loads the HTTP stack."""


def shown_url(url: str) -> str:
    """The URL as pplx shows it: any user and password replaced by ``[redacted]``."""
    at = url.find("@", url.find("//") + 2)
    slash = url.find("/", url.find("//") + 2)
    if at < 0 or (0 <= slash < at):
        return url
    return url[:url.find("//") + 2] + "[redacted]" + url[at:]
