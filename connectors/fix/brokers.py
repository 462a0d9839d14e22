"""Each broker's rules of engagement as data: FIX version, data dictionary, required and custom tags.

resources/reference/brokers.csv has one row per broker (fix_version FIX.4.2, FIX.4.4 or FIX.5.0SP2,
optionally its own dictionary file); broker_tags.csv one row per tag a broker wants on a message
(D, F, G, H, J): a standard field it makes required (Account), a custom field with a fixed value
(5001=WSDESK), or a field its version lacks that it accepts anyway (TargetStrategy on FIX 4.2).
Strategies stay in broker_strategies.csv (engine.oms.strategies).

The broker's dictionary is its base dictionary with these tags added (written under the FIX state
directory), so QuickFIX validates on both sides what the broker will accept. A broker not listed
speaks whatever its session says, with QuickFIX's dictionary and no extra tags. Bad rows raise
ConfigurationError naming the file, row, broker, field and reason.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import quickfix as fix

import resources
from connectors.fix.versions import FixVersion, version
from engine.errors import ConfigurationError

MESSAGES = {"D": "NewOrderSingle", "F": "OrderCancelRequest", "G": "OrderCancelReplaceRequest",
            "H": "OrderStatusRequest", "J": "AllocationInstruction"}  # fmt: skip
TYPES = ("STRING", "INT", "PRICE", "QTY", "PERCENTAGE", "CHAR", "BOOLEAN", "AMT", "FLOAT")


@dataclass(frozen=True)
class TagRule:
    """One tag a broker wants on one message type: required or not, with a fixed value or not."""

    message: str
    tag: int
    name: str
    type: str
    value: str
    required: bool


@dataclass(frozen=True)
class BrokerRules:
    """A broker's FIX version, dictionary and tag rules."""

    broker: str
    version: FixVersion
    dictionary: Path | None = None  # its own application dictionary, instead of QuickFIX's
    tags: tuple[TagRule, ...] = field(default_factory=tuple)

    def base_dictionary(self) -> Path:
        return self.dictionary or self.version.dictionary()

    def for_message(self, msg_type: str) -> list[TagRule]:
        return [t for t in self.tags if t.message == msg_type]

    def apply(self, message: fix.Message, msg_type: str) -> None:
        """Set the fixed custom values, then refuse (BrokerRuleError) a message missing a required tag."""
        for t in self.for_message(msg_type):
            if t.value and not message.isSetField(t.tag):
                message.setField(t.tag, t.value)
        for t in self.for_message(msg_type):
            if t.required and not (message.isSetField(t.tag) and message.getField(t.tag)):
                raise BrokerRuleError(
                    f"broker {self.broker} ({self.version.name}) needs {t.name} ({t.tag}) on every "
                    f"{MESSAGES[msg_type]}: it is missing"
                )

    def dictionary_file(self, directory: Path) -> Path:
        """The broker's dictionary (base plus its tags), written to `directory`; the base if no tags."""
        if not self.tags:
            return self.base_dictionary()
        directory.mkdir(parents=True, exist_ok=True)
        out = directory / f"{self.broker}-{self.version.name}.xml"
        text = derived_dictionary(self.base_dictionary(), self.tags)
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            out.write_text(text, encoding="utf-8")
        return out


class BrokerRuleError(ValueError):
    """An outbound message breaks its broker's rules (a required tag is missing)."""


def derived_dictionary(base: Path, tags: tuple[TagRule, ...]) -> str:
    """The XML text of `base` with each rule's field defined and listed in its message."""
    tree = ET.parse(base)
    root = tree.getroot()
    fields = root.find("fields")
    messages = root.find("messages")
    assert fields is not None and messages is not None
    defined = {f.get("name"): f for f in fields}
    for t in tags:
        if t.name not in defined:
            defined[t.name] = ET.SubElement(fields, "field", number=str(t.tag), name=t.name, type=t.type)
        for m in messages:
            if m.get("msgtype") != t.message:
                continue
            listed = [x for x in m if x.tag == "field" and x.get("name") == t.name]
            if listed:
                if t.required:
                    listed[0].set("required", "Y")
            else:
                ET.SubElement(m, "field", name=t.name, required="Y" if t.required else "N")
    return ET.tostring(root, encoding="unicode")


def _fields(dictionary: Path) -> dict[int, str]:
    """Tag -> name of the fields a dictionary defines."""
    root = ET.parse(dictionary).getroot()
    return {int(f.get("number") or 0): f.get("name") or "" for f in root.findall("./fields/field")}


_base_fields = cache(_fields)


def load(brokers_csv: Path | None = None, tags_csv: Path | None = None) -> dict[str, BrokerRules]:
    """Broker -> its rules, from the two data files (the shipped ones by default), checked."""
    brokers_csv = brokers_csv or resources.path("reference", "brokers.csv")
    tags_csv = tags_csv or resources.path("reference", "broker_tags.csv")
    found: dict[str, BrokerRules] = {}
    with brokers_csv.open(newline="", encoding="utf-8") as f:
        for n, r in enumerate(csv.DictReader(f), start=2):
            where = f"{brokers_csv.name} row {n}"
            broker = (r.get("broker") or "").strip()
            if not broker:
                raise ConfigurationError(f"{where}: field broker: empty")
            if broker in found:
                raise ConfigurationError(f"{where}: broker {broker}: field broker: listed twice")
            v = version(r.get("fix_version") or "", f"{where}: broker {broker}: field fix_version")
            own = (r.get("dictionary") or "").strip()
            path = None
            if own:
                path = Path(own) if Path(own).is_absolute() else brokers_csv.parent / own
                if not path.is_file():
                    raise ConfigurationError(f"{where}: broker {broker}: field dictionary: {path} not found")
            found[broker] = BrokerRules(broker, v, path)
    rules: dict[str, list[TagRule]] = {}
    with tags_csv.open(newline="", encoding="utf-8") as f:
        for n, r in enumerate(csv.DictReader(f), start=2):
            where = f"{tags_csv.name} row {n}"
            broker = (r.get("broker") or "").strip()
            if broker not in found:
                raise ConfigurationError(
                    f"{where}: broker {broker!r}: field broker: not in {brokers_csv.name}"
                )
            rule = _tag_rule(r, found[broker], f"{where}: broker {broker}")
            if any((x.message, x.tag) == (rule.message, rule.tag) for x in rules.get(broker, [])):
                raise ConfigurationError(
                    f"{where}: broker {broker}: field tag: {rule.tag} listed twice for {rule.message}"
                )
            rules.setdefault(broker, []).append(rule)
    return {b: BrokerRules(b, r.version, r.dictionary, tuple(rules.get(b, []))) for b, r in found.items()}


def _tag_rule(r: dict[str, str], broker: BrokerRules, where: str) -> TagRule:
    message = (r.get("message") or "").strip()
    if message not in MESSAGES:
        raise ConfigurationError(f"{where}: field message: {message!r} is not one of {', '.join(MESSAGES)}")
    text = (r.get("tag") or "").strip()
    if not text.isdigit() or int(text) <= 0:
        raise ConfigurationError(f"{where}: field tag: {text!r} is not a positive tag number")
    tag, name = int(text), (r.get("name") or "").strip()
    ftype, value = (r.get("type") or "").strip().upper(), (r.get("value") or "").strip()
    required = (r.get("required") or "").strip().upper()
    if required not in ("Y", "N"):
        raise ConfigurationError(f"{where}: field required: {required!r} is not Y or N")
    known = _base_fields(broker.base_dictionary())
    if tag in known:
        if name and name != known[tag]:
            raise ConfigurationError(
                f"{where}: field name: tag {tag} is {known[tag]} in {broker.version.name}, not {name}"
            )
        name = known[tag]
    else:
        if not name or not name.isidentifier():
            raise ConfigurationError(
                f"{where}: field name: tag {tag} is not in {broker.version.name}: name it"
            )
        if name in known.values():
            raise ConfigurationError(f"{where}: field name: {name} is another tag in {broker.version.name}")
        if ftype not in TYPES:
            raise ConfigurationError(f"{where}: field type: {ftype!r} is not one of {', '.join(TYPES)}")
        if required == "Y" and not value:
            raise ConfigurationError(f"{where}: field value: custom tag {tag} is required but has no value")
    return TagRule(message, tag, name, ftype or "STRING", value, required == "Y")


@cache
def shipped() -> dict[str, BrokerRules]:
    """The shipped broker definitions (read once)."""
    return load()


def rules_for(broker: str) -> BrokerRules | None:
    return shipped().get(broker)
