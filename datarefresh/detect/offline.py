"""Keep third-party libraries from reaching for the network at run time."""

from __future__ import annotations

_done = False


def ensure_offline() -> None:
    """tldextract (used by Presidio's e-mail and URL recognizers) fetches the public
    suffix list on first use and retries for a long time offline: make it use the
    snapshot it ships with instead."""
    global _done
    if _done:
        return
    import tldextract.tldextract as tld

    tld.TLD_EXTRACTOR = tld.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)
    _done = True
