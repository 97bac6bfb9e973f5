"""Column mapping: headers of other systems' exports (English, Portuguese, Russian) to fields.

A mapping file (JSON) overrides the automatic choice per column:
``{"columns": {"Nome do cliente": "full_name", "Código": "identity:external:crm",
"Pontos": "attributes.points", "Obs": "ignore"}}``. Columns mapped nowhere are reported, never
stored; custom attributes must already be declared in the registry.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clientela.domain.errors import BadRequest, FieldError
from clientela.domain.fields import WRITABLE_FIELDS
from clientela.domain.identity import IDENTITY_KINDS

__all__ = ["ColumnMapping", "auto_mapping", "header_key", "load_mapping_file"]

_ALIASES: dict[str, tuple[str, ...]] = {
    "full_name": (
        "nome",
        "nome completo",
        "name",
        "full name",
        "fullname",
        "cliente",
        "nome do cliente",
        "customer name",
        "фио",
        "имя полностью",
        "клиент",
    ),
    "given_name": ("primeiro nome", "first name", "firstname", "given name", "имя"),
    "middle_name": ("middle name", "nome do meio", "отчество"),
    "family_name": (
        "sobrenome",
        "ultimo nome",
        "last name",
        "lastname",
        "surname",
        "family name",
        "фамилия",
    ),
    "email": (
        "email",
        "e-mail",
        "e mail",
        "mail",
        "correio eletronico",
        "endereco de email",
        "эл. почта",
        "эл почта",
        "электронная почта",
        "почта",
        "email address",
    ),
    "phone": (
        "telefone",
        "celular",
        "fone",
        "whatsapp",
        "phone",
        "phone number",
        "mobile",
        "cell",
        "telephone",
        "телефон",
        "мобильный",
        "моб. телефон",
    ),
    "document": ("cpf", "documento", "cpf/cnpj", "document"),
    "birth_date": (
        "data de nascimento",
        "nascimento",
        "dt nascimento",
        "birth date",
        "birthdate",
        "birthday",
        "date of birth",
        "dob",
        "дата рождения",
    ),
    "gender": ("sexo", "genero", "gender", "sex", "пол"),
    "address_line1": (
        "endereco",
        "logradouro",
        "rua",
        "address",
        "address 1",
        "address1",
        "address line 1",
        "street",
        "street address",
        "адрес",
        "улица",
    ),
    "address_line2": ("complemento", "bairro", "address 2", "address line 2"),
    "city": ("cidade", "municipio", "city", "town", "suburb", "locality", "город"),
    "region": ("estado", "uf", "state", "province", "region", "регион", "область"),
    "postal_code": (
        "cep",
        "zip",
        "zip code",
        "zipcode",
        "postal code",
        "postcode",
        "индекс",
        "почтовый индекс",
    ),
    "country": ("pais", "country", "страна"),
    "occupation": ("profissao", "ocupacao", "occupation", "job", "job title", "профессия"),
    "locale": ("idioma", "language", "locale", "язык"),
}


def header_key(header: str) -> str:
    """Headers compared without case, accents, punctuation or spacing differences."""
    decomposed = unicodedata.normalize("NFKD", header.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\s_\-]+", " ", re.sub(r"[^\w\s.\-/]", "", plain)).strip()


#: Columns that hold part of a field: joined, in file order, with the column of the field itself
#: ("7" and "Wallaby Place" make "7 Wallaby Place").
_PARTS: dict[str, tuple[str, ...]] = {
    "address_line1": ("numero", "number", "street number", "house number", "nº", "дом"),
}

_LOOKUP = {header_key(alias): target for target, aliases in _ALIASES.items() for alias in aliases}
_LOOKUP.update(
    {header_key(alias): target for target, aliases in _PARTS.items() for alias in aliases}
)
_LOOKUP.update({header_key(name): name for name in WRITABLE_FIELDS})


@dataclass
class ColumnMapping:
    #: header -> target: a core field, "attributes.<key>" or "identity:<kind>"
    targets: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)

    def record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A row as input for the customer services (identities in ``identities``)."""
        record: dict[str, Any] = {}
        attributes: dict[str, Any] = {}
        identities: list[dict[str, str]] = []
        for header, target in self.targets.items():
            value = row.get(header)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if target.startswith("identity:"):
                identities.append({"kind": target.split(":", 1)[1], "value": str(value)})
            elif target.startswith("attributes."):
                attributes[target.split(".", 1)[1]] = value
            elif target in _JOINABLE and isinstance(record.get(target), str):
                record[target] = f"{record[target]} {str(value).strip()}"
            else:
                record[target] = _plain(target, value)
        if attributes:
            record["attributes"] = attributes
        if identities:
            record["identities"] = identities
        return record


_JOINABLE = frozenset(_PARTS)


def _plain(target: str, value: Any) -> Any:
    """Spreadsheets hand over numbers and dates as such; the validators read text."""
    if target in ("interests", "values", "lifestyle") and isinstance(value, str):
        return [part.strip() for part in re.split(r"[;,|]", value) if part.strip()]
    if target == "household_size":
        try:
            return int(str(value).strip())
        except ValueError:
            return value
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if target == "birth_date" else value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


def auto_mapping(
    headers: Sequence[str],
    *,
    overrides: Mapping[str, str] | None = None,
    id_column: str | None = None,
    source: str = "import",
) -> ColumnMapping:
    mapping = ColumnMapping()
    taken: set[str] = set()
    overrides = dict(overrides or {})
    if id_column:
        if id_column not in headers:
            raise BadRequest(
                "The id column is not in the file.",
                errors=[FieldError("--id-column", "no column has this name")],
            )
        overrides.setdefault(id_column, f"identity:external:{source}")
    for header in headers:
        target = overrides.get(header) or _LOOKUP.get(header_key(header))
        if target == "ignore":
            continue
        repeatable = target is not None and (target.startswith("identity:") or target in _JOINABLE)
        if target is None or (target in taken and not repeatable):
            mapping.unmapped.append(header)
            continue
        mapping.targets[header] = target
        taken.add(target)
    return mapping


def load_mapping_file(path: Path) -> dict[str, str]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BadRequest(
            f"The mapping file could not be read: {type(exc).__name__}.",
            errors=[FieldError("--mapping", "is not a readable JSON file")],
        ) from None
    columns = content.get("columns") if isinstance(content, dict) else None
    if not isinstance(columns, dict):
        raise BadRequest(
            "The mapping file needs a `columns` object.",
            errors=[FieldError("--mapping", "has no columns object")],
        )
    return check_targets(columns, field_prefix="columns.")


def check_targets(columns: Mapping[str, Any], *, field_prefix: str = "") -> dict[str, str]:
    """Column -> target choices made by a person (a mapping file, the import page): each target
    is a field, ``attributes.<key>``, ``identity:<kind>`` or ``ignore``."""
    errors = []
    for header, target in columns.items():
        valid = (
            target == "ignore"
            or target in WRITABLE_FIELDS
            or (isinstance(target, str) and target.startswith("attributes."))
            or (
                isinstance(target, str)
                and target.startswith("identity:")
                and (
                    target.split(":", 1)[1] in IDENTITY_KINDS
                    or target.split(":", 1)[1].startswith("external:")
                )
            )
        )
        if not valid:
            errors.append(
                FieldError(
                    f"{field_prefix}{header}",
                    "is not a field, attributes.<key>, identity:<kind> or ignore",
                )
            )
    if errors:
        raise BadRequest("The mapping has unknown targets.", errors=errors)
    return {str(k): str(v) for k, v in columns.items()}
