"""Alert rule files (YAML, shaped like Prometheus alerting rules): groups of rules and the
notifiers that deliver them. ``docs/alerts.md`` documents every key; :func:`read_rules`
reads a file into a :class:`RuleFile`, every problem an :class:`InputError` naming the file,
the line and the key or the token that failed.

```yaml
groups:
  - name: economics
    rules:
      - alert: PriceFarBelowCost
        expr: price_to_cost_pct < -20
        for: 2d
        keep_firing_for: 1d
        repeat: 7d
        labels: {severity: warning}
        annotations:
          summary: "Close {{ price_usd | usd }} is {{ price_to_cost_pct | pct }} vs cost"
notifiers:
  - {type: webhook, url: "http://127.0.0.1:9093/hook"}
```

Secrets (a Telegram bot token, an SMTP password, an ntfy token) are never written in the
file: a notifier names them as ``*_env`` (an environment variable) or ``*_file`` (a file
holding them), read only when delivering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from minerwatch.errors import InputError
from minerwatch.sources.alert_expr import Node, SyntaxProblem, parse_duration_s, parse_expression

NOTIFIER_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # type: (required keys, optional keys)
    "webhook": (("url",), ("timeout_s", "retries")),
    "ntfy": (("url", "topic"), ("token_env", "token_file", "priority", "timeout_s", "retries")),
    "telegram": (
        ("chat_id",),
        ("bot_token_env", "bot_token_file", "api_url", "timeout_s", "retries"),
    ),
    "email": (
        ("host", "from", "to"),
        ("port", "username", "password_env", "password_file", "starttls", "timeout_s", "retries"),
    ),
    "command": (("argv",), ("timeout_s", "retries")),
    "jsonl": (("path",), ()),
}
RULE_KEYS = ("alert", "expr", "for", "keep_firing_for", "repeat", "labels", "annotations")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Rule:
    """One rule: ``alert`` (its name), ``expr`` (text) and ``tree`` (parsed), ``for_s``
    (the condition must hold this long before firing), ``keep_firing_for_s`` (firing
    continues this long after it clears), ``repeat_s`` (notify again while firing; None:
    never), ``labels``, ``annotations``, its ``group`` and the ``line`` of its ``expr``."""

    alert: str
    expr: str
    tree: Node
    for_s: float
    keep_firing_for_s: float
    repeat_s: float | None
    labels: dict[str, str]
    annotations: dict[str, str]
    group: str
    line: int


def _without_userinfo(text: str) -> str:
    """A URL with ``user:password@`` taken out (other text as it is)."""
    return re.sub(r"(?<=://)[^/@\s]*@", "", text)


@dataclass(frozen=True)
class Notifier:
    """A delivery target: ``type`` and its ``settings`` (as in the file), ``line``."""

    type: str
    settings: dict[str, Any]
    line: int

    @property
    def label(self) -> str:
        """Where it delivers, without secrets (for messages and reports): a URL's user and
        password are left out."""
        s = self.settings
        where = s.get("url") or s.get("path") or s.get("host") or s.get("chat_id") or ""
        if self.type == "command":
            where = " ".join(map(str, s.get("argv", [])))[:60]
        if self.type == "ntfy":
            where = f"{str(where).rstrip('/')}/{str(s.get('topic', '')).strip('/')}"
        return f"{self.type} {_without_userinfo(str(where))}".strip()

    @property
    def key(self) -> str:
        """What the delivery ledger knows it by: its type and every setting (URLs without
        their user and password; secrets are only named in settings, never held), so two
        notifiers differing in any setting are two notifiers."""
        import json

        clean = {
            k: _without_userinfo(v) if isinstance(v, str) else v for k, v in self.settings.items()
        }
        return f"{self.type} {json.dumps(clean, sort_keys=True, default=str)}"


@dataclass(frozen=True)
class RuleFile:
    """A rule file: ``path``, its ``rules`` (every group's, in order) and ``notifiers``."""

    path: str
    rules: tuple[Rule, ...]
    notifiers: tuple[Notifier, ...] = field(default=())


class _Doc:
    """The YAML document as nodes (for lines) and as values."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        try:
            self.root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise InputError(
                f"not valid YAML ({getattr(exc, 'problem', exc)}); expected an alert rule file",
                path=path,
                line=mark.line + 1 if mark else None,
            ) from None

    def error(self, node: yaml.Node | None, key: str | None, message: str) -> InputError:
        line = node.start_mark.line + 1 if node is not None else None
        return InputError(message, path=self.path, line=line, key=key)

    def mapping(self, node: yaml.Node, where: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, where, f"expected a mapping at {where}")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for k, v in node.value:
            name = str(k.value)
            if name in out:
                raise self.error(k, f"{where}.{name}", f"key {name!r} repeats")
            out[name] = (k, v)
        return out

    def sequence(self, node: yaml.Node, where: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, where, f"expected a list at {where}")
        return list(node.value)

    def scalar(self, node: yaml.Node, where: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, where, f"expected a single value at {where}")
        return str(node.value)

    def value(self, node: yaml.Node) -> Any:
        return yaml.safe_load(yaml.serialize(node))


def _strings(doc: _Doc, node: yaml.Node | None, where: str) -> dict[str, str]:
    if node is None:
        return {}
    return {k: doc.scalar(v, f"{where}.{k}") for k, (_, v) in doc.mapping(node, where).items()}


def _duration(doc: _Doc, node: yaml.Node | None, where: str) -> float | None:
    if node is None:
        return None
    text = doc.scalar(node, where)
    seconds = parse_duration_s(text)
    if seconds is None:
        raise doc.error(node, where, f"{text!r}: expected a duration such as 30m, 12h, 2d or 1w")
    return seconds


def _rule(doc: _Doc, node: yaml.Node, group: str, where: str) -> Rule:
    keys = doc.mapping(node, where)
    for k, (knode, _) in keys.items():
        if k not in RULE_KEYS:
            raise doc.error(
                knode, f"{where}.{k}", f"unknown key {k!r}; expected {', '.join(RULE_KEYS)}"
            )
    for required in ("alert", "expr"):
        if required not in keys:
            raise doc.error(node, where, f"a rule needs {required!r}")
    alert_node, expr_node = keys["alert"][1], keys["expr"][1]
    alert = doc.scalar(alert_node, f"{where}.alert")
    if not _NAME.match(alert):
        raise doc.error(
            alert_node,
            f"{where}.alert",
            f"alert {alert!r}: expected a name of letters, digits and _",
        )
    expr = doc.scalar(expr_node, f"{where}.expr")
    try:
        tree = parse_expression(expr)
    except SyntaxProblem as exc:
        raise doc.error(expr_node, f"{where}.expr", f"expr {expr!r}: {exc}") from None
    get = {k: v for k, (_, v) in keys.items()}
    return Rule(
        alert=alert,
        expr=expr,
        tree=tree,
        for_s=_duration(doc, get.get("for"), f"{where}.for") or 0.0,
        keep_firing_for_s=_duration(doc, get.get("keep_firing_for"), f"{where}.keep_firing_for")
        or 0.0,
        repeat_s=_duration(doc, get.get("repeat"), f"{where}.repeat") or None,
        labels=_strings(doc, get.get("labels"), f"{where}.labels"),
        annotations=_strings(doc, get.get("annotations"), f"{where}.annotations"),
        group=group,
        line=expr_node.start_mark.line + 1,
    )


def _notifier(doc: _Doc, node: yaml.Node, where: str) -> Notifier:
    keys = doc.mapping(node, where)
    if "type" not in keys:
        raise doc.error(node, where, f"a notifier needs a type: one of {', '.join(NOTIFIER_KEYS)}")
    kind = doc.scalar(keys["type"][1], f"{where}.type")
    if kind not in NOTIFIER_KEYS:
        raise doc.error(
            keys["type"][1],
            f"{where}.type",
            f"type {kind!r}; expected one of {', '.join(NOTIFIER_KEYS)}",
        )
    required, optional = NOTIFIER_KEYS[kind]
    for k, (knode, _) in keys.items():
        if k != "type" and k not in required + optional:
            # the notifier's own name of that secret: telegram's token is bot_token
            names = [o[:-4] for o in required + optional if o.endswith("_env")]
            taken = [n for n in names if n.endswith(k)]
            secret = k in ("password", "token", "bot_token") and taken
            hint = (
                f"; give {taken[0]}_env or {taken[0]}_file (secrets are never written in the file)"
                if secret
                else ""
            )
            raise doc.error(knode, f"{where}.{k}", f"unknown key {k!r} for a {kind} notifier{hint}")
    for k in required:
        if k not in keys:
            raise doc.error(node, where, f"a {kind} notifier needs {k!r}")
    settings = {k: doc.value(v) for k, (_, v) in keys.items() if k != "type"}
    if kind == "telegram" and not ({"bot_token_env", "bot_token_file"} & set(settings)):
        raise doc.error(node, where, "a telegram notifier needs bot_token_env or bot_token_file")
    if kind == "command" and not (
        isinstance(settings["argv"], list)
        and settings["argv"]
        and all(isinstance(a, str) for a in settings["argv"])
    ):
        raise doc.error(
            keys["argv"][1],
            f"{where}.argv",
            "expected a list of strings (the program and its arguments)",
        )
    if kind == "email" and not isinstance(settings["to"], str | list):
        raise doc.error(keys["to"][1], f"{where}.to", "expected an address or a list of addresses")
    return Notifier(kind, settings, node.start_mark.line + 1)


def parse_rules(text: str, origin: str) -> RuleFile:
    """A rule file's text (``origin`` names it in messages)."""
    doc = _Doc(origin, text)
    if doc.root is None:
        raise InputError("empty file; expected groups of alert rules", path=origin)
    top = doc.mapping(doc.root, "the top level")
    for k, (knode, _) in top.items():
        if k not in ("groups", "notifiers"):
            raise doc.error(
                knode, k, f"unknown key {k!r} at the top level; expected groups, notifiers"
            )
    if "groups" not in top:
        raise doc.error(doc.root, None, "no groups; expected groups: [{name, rules: [...]}]")
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for g, gnode in enumerate(doc.sequence(top["groups"][1], "groups")):
        where = f"groups[{g + 1}]"
        gkeys = doc.mapping(gnode, where)
        for k, (knode, _) in gkeys.items():
            if k not in ("name", "rules"):
                raise doc.error(knode, f"{where}.{k}", f"unknown key {k!r}; expected name, rules")
        name = doc.scalar(gkeys["name"][1], f"{where}.name") if "name" in gkeys else f"group{g + 1}"
        if "rules" not in gkeys:
            raise doc.error(gnode, where, "a group needs rules")
        for r, rnode in enumerate(doc.sequence(gkeys["rules"][1], f"{where}.rules")):
            rule = _rule(doc, rnode, name, f"{where}.rules[{r + 1}]")
            if rule.alert in seen:
                raise doc.error(
                    rnode, f"{where}.rules[{r + 1}].alert",
                    f"alert {rule.alert!r} repeats (first at line {seen[rule.alert]}); "
                    "give each rule its own name",
                )  # fmt: skip
            seen[rule.alert] = rule.line
            rules.append(rule)
    notifiers = []
    if "notifiers" in top:
        for n, nnode in enumerate(doc.sequence(top["notifiers"][1], "notifiers")):
            notifiers.append(_notifier(doc, nnode, f"notifiers[{n + 1}]"))
    return RuleFile(origin, tuple(rules), tuple(notifiers))


def read_rules(path: str | Path) -> RuleFile:
    """Read the rule file at ``path`` (see the module docstring)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the rule file: {exc}", path=str(path)) from None
    return parse_rules(text, str(path))


PACK = "pack"
#: The shipped rule files by name (``sources/rules/<name>.yaml``, documented in
#: docs/alerts.md): the pack, and the fleet rules that need ``--fleet``.
PACKS = (PACK, "fleet-pack")


def load_rules(name_or_path: str | Path) -> RuleFile:
    """The rule file at a path, or one of minerwatch's own :data:`PACKS` by name (unless a
    file of that name is in the working directory)."""
    name = str(name_or_path)
    if name in PACKS and not Path(name).exists():
        from importlib import resources

        text = (resources.files("minerwatch.sources") / "rules" / f"{name}.yaml").read_text(
            encoding="utf-8"
        )
        return parse_rules(text, name)
    return read_rules(name_or_path)
