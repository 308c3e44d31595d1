"""The subscribers' messages: plain text in the subscriber's language, made when queued.

`Mails.confirmation(...)` and `Mails.update(...)` return the whole message as RFC 5322
text (`Outgoing.message`). Their words are `templates/texts/subscriptions.toml`'s,
their layout the templates of `templates/mail/`. Every message to a subscriber carries
the one-click unsubscribe link in its body and in `List-Unsubscribe`, with
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058); `Auto-Submitted:
auto-generated` keeps auto-responders from answering. The links are absolute, under
`[monitor] public_url`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import jinja2

from monitor.resources import templates_dir
from monitor.texts import Catalog, load_catalog

if TYPE_CHECKING:
    from monitor.web.texts import Texts


# Headers up to SMTP's 998 characters a line: a long `List-Unsubscribe` link is folded
# at no space, so a shorter limit would turn it into an encoded word, which mail
# clients do not read as a link.
_POLICY = policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Letter:
    """A message before it is written out: its subject and body in one language."""

    subject: str
    body: str


class Mails:
    """Writes the subscribers' messages for one status page (`public_url`, `title`)."""

    def __init__(self, public_url: str, title: str, sender: str, timezone: str, directory: Path | None = None) -> None:
        folder = directory or templates_dir()
        self.public_url, self.title, self.sender = public_url.rstrip("/"), title, sender
        self.zone = ZoneInfo(timezone)
        self.catalog: Catalog = load_catalog(folder)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(folder / "mail")),
            autoescape=False,  # plain text
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.domain = urlsplit(self.public_url).hostname or "monitor.invalid"

    def texts(self, lang: str) -> Texts:
        # Imported here: `monitor.web`'s package imports the runtime, which imports this.
        from monitor.web.texts import Texts

        return Texts(self.catalog, lang, self.zone)

    def link(self, path: str, lang: str, **query: str) -> str:
        params = "".join(f"&{k}={quote(v, safe='')}" for k, v in query.items())
        return f"{self.public_url}{path}?lang={lang}{params}"

    def letter(self, template: str, lang: str, **context: Any) -> Letter:
        t = self.texts(lang)
        text = self.env.get_template(template).render({"t": t, "lang": lang, "title": self.title, **context})
        subject, _, body = text.partition("\n\n")
        return Letter(subject.strip(), body.strip() + "\n")

    def write(self, letter: Letter, to: str, key: str, lang: str, unsubscribe: str | None, at: float) -> str:
        """The message as RFC 5322 text; `unsubscribe` is the one-click link (None for
        a confirmation request: there is nothing to leave yet)."""
        msg = EmailMessage(policy=_POLICY)
        msg["Subject"] = letter.subject
        msg["From"] = self.sender
        msg["To"] = to
        msg["Date"] = formatdate(at, usegmt=True)
        msg["Message-ID"] = f"<{key}@{self.domain}>"
        msg["Auto-Submitted"] = "auto-generated"
        if unsubscribe is not None:
            msg["List-Unsubscribe"] = f"<{unsubscribe}>"
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(letter.body)
        msg["Content-Language"] = lang  # after the content: setting it clears Content-*
        return msg.as_string()

    def confirmation(self, lang: str, confirm: str, names: Sequence[str], hours: int) -> Letter:
        return self.letter("confirm.txt.j2", lang, link=confirm, names=names, hours=hours)

    def update(self, lang: str, kind: str, unsubscribe: str, **context: Any) -> Letter:
        """A message to a subscriber: `kind` is "down", "up", "maintenance" or "update"."""
        return self.letter(f"{kind}.txt.j2", lang, unsubscribe=unsubscribe, **context)


def localized(text: Mapping[str, str] | None, lang: str) -> str:
    """An admin's text in `lang`, else in Indonesian (always given), else empty."""
    if not text:
        return ""
    return text.get(lang) or text.get("id") or next(iter(text.values()), "")
