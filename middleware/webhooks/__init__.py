"""Webhooks: committed chain events delivered to web services, and their callbacks turned into transactions.

Outbound: a ``Subscription`` matches committed logs by contract and topics; matching logs
become signed JSON deliveries in a persistent ``Outbox``; the ``DeliveryDispatcher`` POSTs
them after commit with retries and a dead-letter list. Inbound: an authenticated HTTP
endpoint turns a caller's callback into a transaction of the node's oracle account.
On-chain: the ``IWebhooks`` native contract lets a contract emit a structured callback
request that subscriptions match. Nothing here changes chain state except the
native contract, which runs inside the VM like any other.
"""
