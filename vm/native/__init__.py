"""Native contracts: Python contracts at fixed addresses, callable from the EVM like any contract."""
