-- Case text_expand: text payloads with table.expand.json.payload=true. A
-- payload starting with '{' is parsed (key order and whitespace as the
-- application wrote them) and re-serialised by JsonConverter
-- (schemas.enable=false); anything else, or text that does not parse, is
-- sent as a JSON string. {{table}} is replaced by the schema-qualified
-- table name. One INSERT per line, in order.
CREATE TABLE {{table}} (
  id uuid PRIMARY KEY,
  aggregatetype varchar(255) NOT NULL,
  aggregateid varchar(255) NOT NULL,
  type varchar(255) NOT NULL,
  payload text
);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-000000000001', 'textExpandOrder', 'order-5001', 'OrderCreated', '{"z": 1, "a": {"c": [1, 2], "b": "x"}, "m": null}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-000000000002', 'textExpandCustomer', 'cust-51', 'CustomerRegistered', E'{\n  "pretty": true,\n  "n": 1.5,\n  "name": "Zoë"\n}\n');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-000000000003', 'textExpandOrder', 'order-5001', 'OrderPaid', ' {"leading": "space"}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-000000000004', 'textExpandOrder', 'order-5002', 'OrderNoted', 'not json at all');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-000000000005', 'textExpandCustomer', 'cust-52', 'CustomerBroken', '{"broken": ');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-000000000006', 'textExpandCustomer', 'cust-51', 'CustomerUpdated', '{"dup": 1, "other": 3, "dup": 2}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-000000000007', 'textExpandOrder', 'order-5002', 'OrderCreated', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-000000000008', 'textExpandOrder', 'order-5003', 'OrderEmpty', '');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-000000000009', 'textExpandCustomer', 'kunde-Müller', 'CustomerRegistered', '{"n": 1e2, "m": 1E-3, "p": 0.1, "q": 100.0, "r": -0, "s": 1.0e0, "t": 123456789012}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-00000000000a', 'textExpandCustomer', 'cust-52', 'CustomerRenamed', '{"escaped": "\u00e9\ud83d\ude80", "raw": "é🚀", "tab": "a\tb", "solidus": "\/"}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-00000000000b', 'textExpandOrder', 'order-5001', 'OrderShipped', '{"a": 1} trailing text');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-00000000000c', 'textExpandOrder', 'order-5003', 'OrderClosed', '{"a": 1,}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-00000000000d', 'textExpandCustomer', 'cust-51', 'CustomerQuoted', '{''single'': ''quotes''}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-00000000000e', 'textExpandOrder', 'order-5002', 'OrderNaN', '{"nan": NaN}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-00000000000f', 'textExpandCustomer', 'cust-53', 'CustomerSpaces', '   ');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-000000000010', 'textExpandOrder', 'order-5003', 'OrderCommented', '{"a": 1 /* comment */}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000005-0000-4000-8000-000000000011', 'textExpandCustomer', 'cust-53', 'CustomerQuotedText', 'say "hi"');
