"""A forward-chaining production-rule engine (Rete) with a typed rule language, usable off-chain and on-chain.

See ``docs/rules-language.md`` for the language and its semantics.
"""
