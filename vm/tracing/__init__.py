"""Transaction tracing: what py-evm did, step by step and call by call, for debug_ and trace_ RPC.

``vm.tracing.hooks`` makes a state class whose computations report to a
``Tracer`` (``vm.tracing.tracer``); the tracers record opcode steps
(``structlog``), call frames including precompiles and native contracts
(``calls``) and the accounts and storage a transaction touched (``prestate``);
``vm.tracing.replay`` re-executes a block from its parent state up to the
transactions asked for. Nothing here runs during block production.
"""
