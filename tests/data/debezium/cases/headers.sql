-- Case headers: additional fields placed as headers (a varchar, an
-- integer, a boolean, with aliases and without) and one placed as the
-- partition (an integer column; NULL leaves the choice to the key).
-- {{table}} is replaced by the schema-qualified table name. One INSERT per
-- line, in order.
CREATE TABLE {{table}} (
  id uuid PRIMARY KEY,
  aggregatetype varchar(255) NOT NULL,
  aggregateid varchar(255) NOT NULL,
  type varchar(255) NOT NULL,
  payload jsonb,
  version integer,
  urgent boolean,
  shard integer
);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version, urgent, shard) VALUES ('00000006-0000-4000-8000-000000000001', 'headersOrder', 'order-6001', 'OrderCreated', '{"orderId": 6001, "total": 13.0}', 1, true, NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version, urgent, shard) VALUES ('00000006-0000-4000-8000-000000000002', 'headersCustomer', 'cust-61', 'CustomerRegistered', '{"id": 61, "name": "Zoë"}', 2, false, 2);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version, urgent, shard) VALUES ('00000006-0000-4000-8000-000000000003', 'headersOrder', 'order-6001', 'Commande créée ✓', '{"orderId": 6001}', NULL, NULL, 0);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version, urgent, shard) VALUES ('00000006-0000-4000-8000-000000000004', 'headersOrder', 'order-6002', 'OrderCreated', '{"orderId": 6002}', -3, true, 1);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version, urgent, shard) VALUES ('00000006-0000-4000-8000-000000000005', 'headersCustomer', 'cust-62', 'CustomerRegistered', NULL, 2147483647, false, NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version, urgent, shard) VALUES ('00000006-0000-4000-8000-000000000006', 'headersOrder', 'order-6002', 'OrderShipped', '{"orderId": 6002, "carrier": "DHL"}', 0, NULL, 2);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version, urgent, shard) VALUES ('00000006-0000-4000-8000-000000000007', 'headersCustomer', 'cust-61', 'CustomerUpdated', '{"id": 61, "name": "Zoë Ångström"}', -2147483648, true, 0);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version, urgent, shard) VALUES ('00000006-0000-4000-8000-000000000008', 'headersOrder', 'order-6003', '', '{"orderId": 6003}', 10, false, NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version, urgent, shard) VALUES ('00000006-0000-4000-8000-000000000009', 'headersOrder', 'order-6001', 'OrderPaid', '{"orderId": 6001, "amount": 13.00}', 3, true, 1);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version, urgent, shard) VALUES ('00000006-0000-4000-8000-00000000000a', 'headersCustomer', 'kunde-Müller', 'CustomerRegistered', '{"name": "Müller"}', 1, NULL, NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version, urgent, shard) VALUES ('00000006-0000-4000-8000-00000000000b', 'headersCustomer', 'cust-62', 'CustomerDeleted', '{"reason": "gdpr"}', 3, true, 2);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload, version, urgent, shard) VALUES ('00000006-0000-4000-8000-00000000000c', 'headersOrder', 'order-6003', 'OrderCancelled', '{"orderId": 6003}', 11, false, 0);
