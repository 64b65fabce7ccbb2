-- 008_node_routing: what each serve node reports of ASK routing
-- (docs/scale-out.md, "Routing"), with its heartbeat.
--
-- asks_in_flight: ASKs the node is answering itself at the report, the load
-- other nodes' routing bounds by. The counters count from the node's start:
-- ASKs it relayed to a peer, ASKs a peer relayed to it, and ASKs it answered
-- itself because the chosen peer was down, slow or refused.

ALTER TABLE nodes ADD COLUMN asks_in_flight BIGINT NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN asks_forwarded BIGINT NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN asks_received BIGINT NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN asks_fallback BIGINT NOT NULL DEFAULT 0;
