"""The readable text form of segment definitions, to and from the JSON rule tree.

    country = "BR" and (orders sum within 365 days > 50000 or score.rfm_segment = "Champions")
    not identity.phone is empty and birth_date < 1990-01-01
    events named "Product Viewed" within 30 days >= 2 and consent to marketing_email
    events named "Plan Chosen" where plan = "pro", seats = 5 >= 1 and in segment champions
    orders avg of product "SKU-12" in category "shoes" within 90 days > 10000
    events named "App Opened" last older than 30 days and orders first >= 2026-01-01
    city in ["Recife", "Natal"] and quality_score between 60 and 100

``and`` binds tighter than ``or``; ``not`` applies to what follows it. Text is quoted (JSON
escapes), dates are bare ``YYYY-MM-DD``, numbers and ``true``/``false`` are bare. The text form
flattens what does not change the meaning (a group of one, a group inside a group of the same
kind), so JSON → text → JSON gives the flattened tree, and text → JSON → text gives the text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from clientela.domain.errors import FieldError, ValidationFailed

__all__ = ["from_text", "normalise", "to_text"]

_SYMBOLS = {"eq": "=", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_OPS = {symbol: op for op, symbol in _SYMBOLS.items()}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<date>\d{4}-\d{2}-\d{2})(?![\w.])
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![\w.])
      | (?P<op><=|>=|!=|=|<|>)
      | (?P<punct>[()\[\],])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)


# --- JSON -> text -------------------------------------------------------------------------------


def normalise(tree: Any) -> Any:
    """Flatten groups of one and groups inside a group of the same kind."""
    if not isinstance(tree, dict):
        return tree
    for mode in ("all", "any"):
        if mode in tree:
            children: list[Any] = []
            for child in (normalise(c) for c in tree[mode]):
                if isinstance(child, dict) and set(child) == {mode}:
                    children.extend(child[mode])
                else:
                    children.append(child)
            return children[0] if len(children) == 1 else {mode: children}
    if "not" in tree:
        return {"not": normalise(tree["not"])}
    return tree


def to_text(tree: Any) -> str:
    return _text(normalise(tree), parent=None)


def _text(node: Any, parent: str | None) -> str:
    if "all" in node or "any" in node:
        mode = "all" if "all" in node else "any"
        joined = (" and " if mode == "all" else " or ").join(
            _text(child, mode) for child in node[mode]
        )
        # "and" binds tighter than "or"; "not" takes only what follows it
        wrap = parent == "not" or (parent == "all" and mode == "any")
        return f"({joined})" if wrap else joined
    if "not" in node:
        return f"not {_text(node['not'], 'not')}"
    if "consent" in node:
        return f"consent to {node['consent']}"
    if "segment" in node:
        return f"in segment {node['segment']}"
    if "events" in node:
        spec = node["events"]
        parts = ["events"]
        if spec.get("name") is not None:
            parts.append(f"named {json.dumps(spec['name'], ensure_ascii=False)}")
        if spec.get("properties"):
            pairs = ", ".join(
                f"{json.dumps(key, ensure_ascii=False)} = {_value(value)}"
                for key, value in spec["properties"].items()
            )
            parts.append(f"where {pairs}")
        if spec.get("within_days") is not None:
            parts.append(f"within {spec['within_days']} days")
        if spec.get("measure", "count") in ("first", "last"):
            parts.append(spec["measure"])
        return " ".join([*parts, _comparison(spec.get("measure", "count"), node)])
    if "orders" in node:
        spec = node["orders"]
        parts = ["orders", spec.get("measure", "count")]
        if spec.get("product") is not None:
            parts.append(f"of product {json.dumps(spec['product'], ensure_ascii=False)}")
        if spec.get("category") is not None:
            parts.append(f"in category {json.dumps(spec['category'], ensure_ascii=False)}")
        if spec.get("within_days") is not None:
            parts.append(f"within {spec['within_days']} days")
        return " ".join([*parts, _comparison(spec.get("measure", "count"), node)])
    field, op, value = node["field"], node["op"], node.get("value")
    if op == "is_empty":
        return f"{field} is empty"
    if op == "not_empty":
        return f"{field} is not empty"
    if op in ("within_days", "older_than_days"):
        word = "within" if op == "within_days" else "older than"
        return f"{field} {word} {value} days"
    if op in ("in", "not_in"):
        listed = ", ".join(_value(item) for item in value)
        return f"{field} {'in' if op == 'in' else 'not in'} [{listed}]"
    if op == "between":
        return f"{field} between {_value(value[0])} and {_value(value[1])}"
    if op == "contains":
        return f"{field} contains {_value(value)}"
    if op == "starts_with":
        return f"{field} starts with {_value(value)}"
    return f"{field} {_SYMBOLS[op]} {_value(value)}"


def _comparison(measure: str, node: Any) -> str:
    op, value = node["op"], node.get("value")
    if measure not in ("first", "last"):
        return f"{_SYMBOLS[op]} {_value(value)}"
    if op in ("within_days", "older_than_days"):
        return f"{'within' if op == 'within_days' else 'older than'} {value} days"
    if op == "between":
        return f"between {_value(value[0])} and {_value(value[1])}"
    return f"{_SYMBOLS[op]} {_value(value)}"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str) and _DATE.match(value):
        return value  # dates are bare; text that looks like a date is quoted below
    return json.dumps(value, ensure_ascii=False)


# --- text -> JSON -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                rest = text[position:]
                self.fail(position + len(rest) - len(rest.lstrip()), "unexpected character")
            assert match is not None
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind), match.start(kind)))
            position = match.end()
        self.index = 0

    def fail(self, position: int, message: str) -> None:
        raise ValidationFailed(
            "The segment text cannot be read.",
            errors=[FieldError(f"text[{position}]", message, "syntax")],
        )

    def peek(self, offset: int = 0) -> tuple[str, str, int] | None:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def word(self, *words: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() in words:
            self.index += 1
            return True
        return False

    def expect_word(self, word: str) -> None:
        if not self.word(word):
            self.fail(self.position(), f"expected {word!r}")

    def expect(self, kind: str, text: str | None = None) -> str:
        token = self.peek()
        if token is None or token[0] != kind or (text is not None and token[1] != text):
            self.fail(self.position(), f"expected {text or kind}")
        assert token is not None
        self.index += 1
        return token[1]

    def position(self) -> int:
        token = self.peek()
        return token[2] if token else len(self.text)

    def parse(self) -> Any:
        node = self.either()
        if self.peek() is not None:
            self.fail(self.position(), "unexpected text after the end of the definition")
        return normalise(node)

    def either(self) -> Any:
        parts = [self.both()]
        while self.word("or"):
            parts.append(self.both())
        return parts[0] if len(parts) == 1 else {"any": parts}

    def both(self) -> Any:
        parts = [self.unary()]
        while self.word("and"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else {"all": parts}

    def unary(self) -> Any:
        if self.word("not"):
            return {"not": self.unary()}
        token = self.peek()
        if token and token[0] == "punct" and token[1] == "(":
            self.index += 1
            inner = self.either()
            self.expect("punct", ")")
            return inner
        return self.condition()

    def number(self) -> int | float:
        text = self.expect("number")
        return float(text) if any(c in text for c in ".eE") else int(text)

    def days(self) -> int:
        value = self.number()
        self.expect_word("days")
        if not isinstance(value, int):
            self.fail(self.position(), "days are a whole number")
        return int(value)

    def comparison(self) -> tuple[str, Any]:
        op = _OPS[self.expect("op")]
        return op, self.number()

    def starts_date_comparison(self) -> bool:
        token = self.peek()
        if token is None:
            return False
        kind, text, _ = token
        return kind == "op" or (kind == "word" and text.lower() in ("within", "older", "between"))

    def date_comparison(self) -> tuple[str, Any]:
        """After first / last: within N days, older than N days, between A and B, or an
        operator and a date."""
        if self.word("within"):
            return "within_days", self.days()
        if self.word("older"):
            self.expect_word("than")
            return "older_than_days", self.days()
        if self.word("between"):
            low = self.value()
            self.expect_word("and")
            return "between", [low, self.value()]
        return _OPS[self.expect("op")], self.value()

    def condition(self) -> Any:
        token = self.peek()
        if token is None or token[0] != "word":
            self.fail(self.position(), "expected a field, events, orders, consent or in segment")
        assert token is not None
        name = token[1]
        self.index += 1
        if name == "consent":
            self.expect_word("to")
            return {"consent": self.expect("word")}
        if name == "in":
            self.expect_word("segment")
            return {"segment": self.expect("word")}
        if name == "events":
            spec: dict[str, Any] = {}
            if self.word("named"):
                spec["name"] = json.loads(self.expect("string"))
            if self.word("where"):
                properties = {}
                while True:
                    key = json.loads(self.expect("string"))
                    self.expect("op", "=")
                    properties[key] = self.value()
                    token = self.peek()
                    if not (token and token[0] == "punct" and token[1] == ","):
                        break
                    self.index += 1
                spec["properties"] = properties
            if self.word("within"):
                spec["within_days"] = self.days()
            if self.word("first", "last"):
                spec["measure"] = self.tokens[self.index - 1][1].lower()
                op, value = self.date_comparison()
            else:
                op, value = self.comparison()
            return {"events": spec, "op": op, "value": value}
        if name == "orders":
            measure = next(
                (m for m in ("count", "sum", "avg", "first", "last") if self.word(m)), None
            )
            if measure is None:
                self.fail(self.position(), "expected count, sum, avg, first or last")
            spec = {"measure": measure}
            if self.word("of"):
                self.expect_word("product")
                spec["product"] = json.loads(self.expect("string"))
            if self.word("in"):
                self.expect_word("category")
                spec["category"] = json.loads(self.expect("string"))
            if self.word("within"):
                spec["within_days"] = self.days()
            if measure in ("first", "last"):
                if "within_days" in spec and not self.starts_date_comparison():
                    # "orders first within 30 days": the condition, not a window
                    days = spec.pop("within_days")
                    return {"orders": spec, "op": "within_days", "value": days}
                op, value = self.date_comparison()
            else:
                op, value = self.comparison()
            return {"orders": spec, "op": op, "value": value}
        return self.field_condition(name)

    def field_condition(self, field: str) -> Any:
        if self.word("is"):
            if self.word("not"):
                self.expect_word("empty")
                return {"field": field, "op": "not_empty"}
            self.expect_word("empty")
            return {"field": field, "op": "is_empty"}
        if self.word("within"):
            return {"field": field, "op": "within_days", "value": self.days()}
        if self.word("older"):
            self.expect_word("than")
            return {"field": field, "op": "older_than_days", "value": self.days()}
        if self.word("contains"):
            return {"field": field, "op": "contains", "value": self.value()}
        if self.word("starts"):
            self.expect_word("with")
            return {"field": field, "op": "starts_with", "value": self.value()}
        if self.word("between"):
            low = self.value()
            self.expect_word("and")
            return {"field": field, "op": "between", "value": [low, self.value()]}
        negated = self.word("not")
        if self.word("in"):
            self.expect("punct", "[")
            items = [self.value()]
            while self.peek() and self.peek()[1] == ",":  # type: ignore[index]
                self.index += 1
                items.append(self.value())
            self.expect("punct", "]")
            return {"field": field, "op": "not_in" if negated else "in", "value": items}
        if negated:
            self.fail(self.position(), "expected 'in' after 'not'")
        op = _OPS[self.expect("op")]
        return {"field": field, "op": op, "value": self.value()}

    def value(self) -> Any:
        token = self.peek()
        if token is None:
            self.fail(len(self.text), "expected a value")
        assert token is not None
        kind, text, _ = token
        if kind == "string":
            self.index += 1
            return json.loads(text)
        if kind == "date":
            self.index += 1
            return text
        if kind == "number":
            return self.number()
        if kind == "word" and text in ("true", "false"):
            self.index += 1
            return text == "true"
        self.fail(token[2], "expected text in quotes, a number, a date or true/false")
        return None


def from_text(text: str) -> Any:
    """The JSON rule tree of a text definition (checked later like any other tree)."""
    if len(text) > 20_000:
        raise ValidationFailed(
            "The segment text is too long.", errors=[FieldError("text", "at most 20000 chars")]
        )
    return _Parser(text).parse()
