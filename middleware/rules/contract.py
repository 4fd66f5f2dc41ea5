"""The rules engine as a native contract (interface: ``IRules.sol``).

A contract or account registers a rule set (``registerRuleSet``) and becomes
its owner; only the owner may insert, update or retract its facts and fire its
rules; anyone may read them. Every rule set has its own working memory.

Storage (byte strings, :mod:`middleware.rules.codec`): slot 0 holds the
number of rule sets; slot 1 a mapping from rule-set id to owner; ``set/<id>`` the source;
``templates/<id>`` its templates (so fact operations need not compile it); ``index/<id>`` the next
fact id, the live fact ids and the matches that fired; ``fact/<id>/<fact id>``
one fact. The source is recompiled by the calls that run rules (compilation is charged
per byte, whether or not the node had it cached). Inserts, updates and
retracts read the templates and change only the fact and the index; ``fireAllRules`` rebuilds the Rete
memories by inserting the stored facts in id order (charged like any insert),
fires, and writes back the facts that changed.

Gas: the method's base cost, the storage the call touches (the framework's
schedule) and the engine's own work (:mod:`middleware.rules.gas`) are all
charged to the call. The engine stops at :data:`ENGINE_GAS_LIMIT` per call
with a revert. Any error (a malformed rule set, a bad fact, an action that
divides by zero) reverts the call, so nothing it did persists. Events emitted
by rule actions become ``RuleEvent(uint256 indexed ruleSet, string name, bytes
data)`` logs, ``data`` being the event's values ABI-encoded with the types of
:mod:`middleware.rules.codec`.

Every mutating method returns a value: Solidity checks that the callee has
code before a call that expects no return data, and a native contract has
none, so a method returning nothing could not be called from Solidity.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TypeVar

from middleware.rules.codec import (
    decode_fields,
    encode_fields,
    encode_values,
    pack_fact,
    pack_index,
    pack_templates,
    unpack_fact,
    unpack_index,
    unpack_templates,
)
from middleware.rules.compiler import RuleSet
from middleware.rules.engine import DEFAULT_MAX_ACTIVATIONS, Session, SessionState
from middleware.rules.errors import RulesError
from middleware.rules.gas import COMPILE_BYTE_GAS, GasMeter
from middleware.rules.templates import Fact, Template
from middleware.rules.values import Value
from vm.errors import NativeContractError
from vm.native.addresses import RULES_ADDRESS
from vm.native.framework import CallContext, NativeContract, mapping_slot, method

T = TypeVar("T")
#: Most engine gas one call may use (on top of storage and the method's base cost).
ENGINE_GAS_LIMIT = 20_000_000
#: Most facts in one rule set's working memory on-chain.
MAX_CHAIN_FACTS = 512
#: Largest rule-set source accepted on-chain (bytes).
MAX_CHAIN_SOURCE = 32 * 1024
COUNT_SLOT = 0
OWNER_MAPPING = 1
BUDGET_MAPPING = 2
REGISTERED_EVENT = "RuleSetRegistered(uint256,address)"
FUNDED_EVENT = "BudgetFunded(uint256,address,uint256)"
WITHDRAWN_EVENT = "BudgetWithdrawn(uint256,address,uint256)"
PAYMENT_EVENT = "RulePayment(uint256,address,string,uint256)"
RULE_EVENT = "RuleEvent(uint256,string,bytes)"
FIRED_EVENT = "RulesFired(uint256,uint256)"


@functools.lru_cache(maxsize=32)
def _compiled(source: str) -> RuleSet:
    """The compiled rule set of ``source`` (cached: compilation is deterministic and the result immutable)."""
    return RuleSet.parse(source)


def _key(kind: bytes, *numbers: int) -> bytes:
    return b"cmt.rules/" + kind + b"".join(n.to_bytes(32, "big") for n in numbers)


class RulesContract(NativeContract):
    """Rule sets, their working memories and ``fireAllRules``, callable from the EVM."""

    address = RULES_ADDRESS
    name = "Rules"

    # -- helpers -------------------------------------------------------------------------------

    def _owner(self, ctx: CallContext, rule_set: int) -> bytes:
        if rule_set >= ctx.load(COUNT_SLOT):
            raise NativeContractError(f"Rules: unknown rule set {rule_set}")
        return ctx.load(mapping_slot(OWNER_MAPPING, rule_set)).to_bytes(20, "big")

    def _load_set(self, ctx: CallContext, rule_set: int) -> RuleSet:
        self._owner(ctx, rule_set)
        source = ctx.load_bytes(_key(b"set/", rule_set)) or b""
        ctx.charge(COMPILE_BYTE_GAS * len(source), "rules compile")
        return _compiled(source.decode())


    def _templates(self, ctx: CallContext, rule_set: int) -> dict[str, Template]:
        self._owner(ctx, rule_set)
        return unpack_templates(ctx.load_bytes(_key(b"templates/", rule_set)) or b"\x90")

    def _load_fact(self, ctx: CallContext, templates: Mapping[str, Template], rule_set: int, fact_id: int) -> Fact:
        data = ctx.load_bytes(_key(b"fact/", rule_set, fact_id))
        if data is None:
            raise NativeContractError(f"Rules: no fact {fact_id} in rule set {rule_set}")
        return unpack_fact(templates, fact_id, data)

    def _require_owner(self, ctx: CallContext, rule_set: int) -> None:
        if ctx.sender != self._owner(ctx, rule_set):
            raise NativeContractError("Rules: only the rule set's owner may change its facts")

    @staticmethod
    def _meter(ctx: CallContext) -> GasMeter:
        return GasMeter(ENGINE_GAS_LIMIT, ctx.charge)

    # -- methods -------------------------------------------------------------------------------

    @method("registerRuleSet(string)", returns=["uint256"], gas=20_000)
    def register_rule_set(self, ctx: CallContext, source: str) -> int:
        """Compile ``source`` and store it; the caller owns the new rule set. Reverts with the exact error."""
        encoded = source.encode()
        if len(encoded) > MAX_CHAIN_SOURCE:
            raise NativeContractError(f"Rules: source of {len(encoded)} bytes exceeds {MAX_CHAIN_SOURCE}")
        ctx.charge(COMPILE_BYTE_GAS * len(encoded), "rules compile")
        try:
            rules = _compiled(source)
        except RulesError as exc:
            raise NativeContractError(f"Rules: {exc}") from None
        rule_set = ctx.load(COUNT_SLOT)
        ctx.store(COUNT_SLOT, rule_set + 1)
        ctx.store(mapping_slot(OWNER_MAPPING, rule_set), int.from_bytes(ctx.sender, "big"))
        ctx.store_bytes(_key(b"set/", rule_set), encoded)
        ctx.store_bytes(_key(b"templates/", rule_set), pack_templates(rules.templates))
        if rules.tracks_conditions:
            ctx.store_bytes(_key(b"conditions/", rule_set), b"\x01")
        ctx.emit(REGISTERED_EVENT, indexed=[("uint256", rule_set), ("address", ctx.sender)], data=[])
        return rule_set

    @method("insertFact(uint256,string,bytes)", returns=["uint256"], gas=5_000)
    def insert_fact(self, ctx: CallContext, rule_set: int, fact_type: str, fields: bytes) -> int:
        """Add a fact (fields ABI-encoded in template order); returns its id."""
        self._require_owner(ctx, rule_set)
        templates = self._templates(ctx, rule_set)
        if fact_type in templates and self._tracks_conditions(ctx, rule_set):
            values = self._decoded(templates[fact_type], fields)
            return self._through_session(ctx, rule_set, lambda s: s.insert_values(templates[fact_type], values))
        next_id, fact_ids, consumed = unpack_index(ctx.load_bytes(_key(b"index/", rule_set)))
        if len(fact_ids) >= MAX_CHAIN_FACTS:
            raise NativeContractError(f"Rules: working memory is full ({MAX_CHAIN_FACTS} facts)")
        if fact_type not in templates:
            raise NativeContractError(f"Rules: unknown fact type '{fact_type}'")
        try:
            fact = Fact(next_id, templates[fact_type], decode_fields(templates[fact_type], fields))
        except RulesError as exc:
            raise NativeContractError(f"Rules: {exc}") from None
        ctx.store_bytes(_key(b"fact/", rule_set, next_id), pack_fact(fact))
        ctx.store_bytes(_key(b"index/", rule_set), pack_index(next_id + 1, [*fact_ids, next_id], consumed))
        return next_id

    @method("updateFact(uint256,uint256,bytes)", returns=["bool"], gas=5_000)
    def update_fact(self, ctx: CallContext, rule_set: int, fact_id: int, fields: bytes) -> bool:
        """Replace all fields of a fact (ABI-encoded in template order); its matches activate again."""
        self._require_owner(ctx, rule_set)
        old = self._load_fact(ctx, self._templates(ctx, rule_set), rule_set, fact_id)
        fact = Fact(fact_id, old.template, self._decoded(old.template, fields))
        if self._tracks_conditions(ctx, rule_set):
            self._through_session(ctx, rule_set, lambda s: s.update_values(fact_id, fact.values))
            return True
        next_id, fact_ids, consumed = unpack_index(ctx.load_bytes(_key(b"index/", rule_set)))
        ctx.store_bytes(_key(b"fact/", rule_set, fact_id), pack_fact(fact))
        kept = [match for match in consumed if fact_id not in match[1]]
        ctx.store_bytes(_key(b"index/", rule_set), pack_index(next_id, fact_ids, kept))
        return True

    @method("retractFact(uint256,uint256)", returns=["bool"], gas=5_000)
    def retract_fact(self, ctx: CallContext, rule_set: int, fact_id: int) -> bool:
        """Remove a fact."""
        self._require_owner(ctx, rule_set)
        next_id, fact_ids, consumed = unpack_index(ctx.load_bytes(_key(b"index/", rule_set)))
        if fact_id not in fact_ids:
            raise NativeContractError(f"Rules: no fact {fact_id} in rule set {rule_set}")
        if self._tracks_conditions(ctx, rule_set):
            self._through_session(ctx, rule_set, lambda s: s.retract_id(fact_id))
            return True
        ctx.delete_bytes(_key(b"fact/", rule_set, fact_id))
        kept = [match for match in consumed if fact_id not in match[1]]
        remaining = [other for other in fact_ids if other != fact_id]
        ctx.store_bytes(_key(b"index/", rule_set), pack_index(next_id, remaining, kept))
        return True

    @method("fireAllRules(uint256)", returns=["uint256"], gas=10_000)
    def fire_all_rules(self, ctx: CallContext, rule_set: int) -> int:
        """Fire up to the default bound of activations; returns how many fired."""
        return self._fire(ctx, rule_set, DEFAULT_MAX_ACTIVATIONS)

    @method("fireRules(uint256,uint256)", returns=["uint256"], gas=10_000)
    def fire_rules(self, ctx: CallContext, rule_set: int, max_activations: int) -> int:
        """Fire up to ``max_activations`` activations (at most the default bound); returns how many fired."""
        return self._fire(ctx, rule_set, min(max_activations, DEFAULT_MAX_ACTIVATIONS))

    def _session(self, ctx: CallContext, rules: RuleSet, rule_set: int) -> Session:
        next_id, fact_ids, consumed = unpack_index(ctx.load_bytes(_key(b"index/", rule_set)))
        facts = tuple(self._load_fact(ctx, rules.templates, rule_set, fact_id) for fact_id in fact_ids)
        budget = ctx.load(mapping_slot(BUDGET_MAPPING, rule_set))
        return Session.restore(rules, SessionState(facts, next_id, tuple(consumed)), self._meter(ctx), budget)

    @staticmethod
    def _decoded(template: Template, fields: bytes) -> tuple[Value, ...]:
        try:
            return decode_fields(template, fields)
        except RulesError as exc:
            raise NativeContractError(f"Rules: {exc}") from None

    def _tracks_conditions(self, ctx: CallContext, rule_set: int) -> bool:
        """Whether the rule set has not/exists/accumulate conditions (fact changes then run through the network)."""
        return ctx.load_bytes(_key(b"conditions/", rule_set)) is not None

    def _through_session(self, ctx: CallContext, rule_set: int, change: Callable[[Session], T]) -> T:
        """Apply ``change`` to the rebuilt session and store the result (a match may end without its facts
        changing, so the fired matches kept in the index are recomputed)."""
        rules = self._load_set(ctx, rule_set)
        try:
            session = self._session(ctx, rules, rule_set)
            before = {fact.id: fact for fact in session.facts()}
            result = change(session)
        except RulesError as exc:
            raise NativeContractError(f"Rules: {exc}") from None
        self._save(ctx, rule_set, session, before)
        return result

    def _fire(self, ctx: CallContext, rule_set: int, max_activations: int) -> int:
        self._require_owner(ctx, rule_set)
        rules = self._load_set(ctx, rule_set)
        try:
            session = self._session(ctx, rules, rule_set)
            before = {fact.id: fact for fact in session.facts()}
            fired = session.fire_all(max_activations, now=ctx.timestamp)
        except RulesError as exc:
            raise NativeContractError(f"Rules: {exc}") from None
        self._save(ctx, rule_set, session, before)
        for payment in session.payments:
            ctx.transfer(payment.recipient, payment.amount)
            ctx.emit(PAYMENT_EVENT, indexed=[("uint256", rule_set), ("address", payment.recipient)],
                     data=[("string", payment.rule), ("uint256", payment.amount)])
        if session.payments:
            ctx.store(mapping_slot(BUDGET_MAPPING, rule_set), session.budget)
        for event in session.events:
            data = encode_values(event.types, event.values)
            ctx.emit(RULE_EVENT, indexed=[("uint256", rule_set)], data=[("string", event.name), ("bytes", data)])
        ctx.emit(FIRED_EVENT, indexed=[("uint256", rule_set)], data=[("uint256", fired)])
        return fired

    def _save(self, ctx: CallContext, rule_set: int, session: Session, before: Mapping[int, Fact]) -> None:
        """Write back the facts ``session`` changed since ``before`` and its index."""
        state = session.state()
        if len(state.facts) > MAX_CHAIN_FACTS:
            raise NativeContractError(f"Rules: working memory is full ({MAX_CHAIN_FACTS} facts)")
        after = {fact.id: fact for fact in state.facts}
        for fact_id in sorted(before):
            if fact_id not in after:
                ctx.delete_bytes(_key(b"fact/", rule_set, fact_id))
        for fact in state.facts:
            if before.get(fact.id) != fact:
                ctx.store_bytes(_key(b"fact/", rule_set, fact.id), pack_fact(fact))
        ctx.store_bytes(_key(b"index/", rule_set),
                        pack_index(state.next_id, [fact.id for fact in state.facts], state.consumed))

    @method("getFact(uint256,uint256)", returns=["string", "bytes"], gas=2_000, view=True)
    def get_fact(self, ctx: CallContext, rule_set: int, fact_id: int) -> tuple[str, bytes]:
        """A fact's type and its fields ABI-encoded in template order."""
        fact = self._load_fact(ctx, self._templates(ctx, rule_set), rule_set, fact_id)
        return fact.template.name, encode_fields(fact.template, fact.values)

    @method("factIds(uint256)", returns=["uint256[]"], gas=2_000, view=True)
    def fact_ids(self, ctx: CallContext, rule_set: int) -> list[int]:
        """The ids of the facts in a rule set's working memory, ascending."""
        self._owner(ctx, rule_set)
        return unpack_index(ctx.load_bytes(_key(b"index/", rule_set)))[1]

    @method("pendingActivations(uint256)", returns=["uint256"], gas=10_000, view=True)
    def pending_activations(self, ctx: CallContext, rule_set: int) -> int:
        """How many activations wait to fire."""
        rules = self._load_set(ctx, rule_set)
        try:
            return len(self._session(ctx, rules, rule_set).pending())
        except RulesError as exc:
            raise NativeContractError(f"Rules: {exc}") from None

    @method("ruleSetOwner(uint256)", returns=["address"], gas=2_000, view=True)
    def rule_set_owner(self, ctx: CallContext, rule_set: int) -> str:
        """The account or contract that registered the rule set."""
        return "0x" + self._owner(ctx, rule_set).hex()

    @method("fundRuleSet(uint256)", returns=["uint256"], gas=5_000, payable=True)
    def fund_rule_set(self, ctx: CallContext, rule_set: int) -> int:
        """Add the call's value to the rule set's budget for ``pay`` actions (anyone); returns the new budget."""
        self._owner(ctx, rule_set)
        if ctx.value == 0:
            raise NativeContractError("Rules: fundRuleSet needs a value (the CMT to escrow)")
        budget = ctx.load(mapping_slot(BUDGET_MAPPING, rule_set)) + ctx.value
        ctx.store(mapping_slot(BUDGET_MAPPING, rule_set), budget)
        ctx.emit(FUNDED_EVENT, indexed=[("uint256", rule_set), ("address", ctx.sender)], data=[("uint256", ctx.value)])
        return budget

    @method("withdrawBudget(uint256,uint256)", returns=["bool"], gas=5_000)
    def withdraw_budget(self, ctx: CallContext, rule_set: int, amount: int) -> bool:
        """Move ``amount`` wei of the budget back to the owner (owner only)."""
        if ctx.sender != self._owner(ctx, rule_set):
            raise NativeContractError("Rules: only the rule set's owner may withdraw its budget")
        budget = ctx.load(mapping_slot(BUDGET_MAPPING, rule_set))
        if amount > budget:
            raise NativeContractError(f"Rules: withdrawal of {amount} wei exceeds the budget of {budget} wei "
                                      f"of rule set {rule_set}")
        ctx.store(mapping_slot(BUDGET_MAPPING, rule_set), budget - amount)
        ctx.transfer(ctx.sender, amount)
        ctx.emit(WITHDRAWN_EVENT, indexed=[("uint256", rule_set), ("address", ctx.sender)], data=[("uint256", amount)])
        return True

    @method("ruleSetBudget(uint256)", returns=["uint256"], gas=2_000, view=True)
    def rule_set_budget(self, ctx: CallContext, rule_set: int) -> int:
        """The wei escrowed for the rule set's ``pay`` actions."""
        self._owner(ctx, rule_set)
        return ctx.load(mapping_slot(BUDGET_MAPPING, rule_set))

    @method("ruleSetCount()", returns=["uint256"], gas=200, view=True)
    def rule_set_count(self, ctx: CallContext) -> int:
        """Number of registered rule sets."""
        return ctx.load(COUNT_SLOT)
