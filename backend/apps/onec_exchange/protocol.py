"""What the site answers 1C: a few lines of text, the first one a status word.

``success`` (optionally followed by lines such as ``<cookie name>``/``<cookie value>``, or
``zip=yes``/``file_limit=…`` for ``mode=init``), ``progress\\n<what is done>`` (1C asks again) and
``failure\\n<reason>`` (1C stops and shows the reason in its exchange log).

Encoded as windows-1251 and declared so: that is what 1C-Bitrix sends whatever the site's own
charset, so every 1C exchange module reads it; a character with no windows-1251 form becomes "?".
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpResponse

CHARSET = "windows-1251"
_MAX_REASON = 500


@dataclass(frozen=True)
class Answer:
    lines: tuple[str, ...]
    status: int = 200  # HTTP status; 1C reads the body either way
    headers: dict = field(default_factory=dict)

    @property
    def word(self) -> str:
        return self.lines[0]

    @property
    def detail(self) -> str:
        return " / ".join(self.lines[1:])


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())  # the answer is line-based: a reason is one line
    return text if len(text) <= _MAX_REASON else text[:_MAX_REASON - 1] + "…"


def success(*lines: str) -> Answer:
    return Answer(("success", *lines))


def init_answer(*, zip_allowed: bool, file_limit: int) -> Answer:
    """``mode=init``: whether 1C may send one zip, and the largest chunk it may send per request."""
    return Answer((f"zip={'yes' if zip_allowed else 'no'}", f"file_limit={file_limit}"))


def progress(text: str) -> Answer:
    return Answer(("progress", _one_line(text)))


def failure(reason: str, *, status: int = 200, headers: dict | None = None) -> Answer:
    return Answer(("failure", _one_line(reason)), status=status, headers=headers or {})


def render(answer: Answer) -> HttpResponse:
    response = HttpResponse("\n".join(answer.lines).encode(CHARSET, "replace"),
                            content_type=f"text/plain; charset={CHARSET}", status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response
