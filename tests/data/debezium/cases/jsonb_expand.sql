-- Case jsonb_expand: jsonb payloads with table.expand.json.payload=true:
-- the EventRouter parses the payload's text and the value is re-serialised
-- by JsonConverter (schemas.enable=false). Rows cover what expansion
-- changes (numbers, nulls, empty arrays, key order) and payloads it leaves
-- as a string (not an object, arrays it cannot type). Payloads that stop
-- the worker (a top-level array, an integer beyond 64 bits, an array whose
-- objects disagree on a field's type) are not here: see the README.
-- {{table}} is replaced by the schema-qualified table name. One INSERT per
-- line, in order.
CREATE TABLE {{table}} (
  id uuid PRIMARY KEY,
  aggregatetype varchar(255) NOT NULL,
  aggregateid varchar(255) NOT NULL,
  type varchar(255) NOT NULL,
  payload jsonb
);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-000000000001', 'jsonbExpandOrder', 'order-4001', 'OrderCreated', '{"orderId": 4001, "customer": {"id": 7, "name": "Zoë Ångström"}, "lines": [{"sku": "A-1", "qty": 2, "price": 1.5}, {"sku": "B-2", "qty": 1, "price": 10.0}], "total": 13.0, "paid": false, "note": null}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-000000000002', 'jsonbExpandCustomer', 'cust-41', 'CustomerRegistered', '{"id": 41, "email": "zoe@example.com", "tags": ["vip", "früh"], "score": -42, "ratio": -0.25, "active": true}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-000000000003', 'jsonbExpandOrder', 'order-4001', 'OrderPaid', '{"amount": 13.00, "int": 2147483647, "overInt": 2147483648, "negInt": -2147483648, "long": 9007199254740993, "minLong": -9223372036854775808, "maxLong": 9223372036854775807, "zero": 0, "negZero": -0.0, "tiny": 1e-7, "small": 0.0001, "milli": 0.001, "sci": 1.5E+3, "dec": 12345678.9, "ten": 10.0, "half": 0.5, "neg": -1.5, "third": 0.3333333333333333333, "manyDigits": 1.23456789012345678901234567890}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-000000000004', 'jsonbExpandOrder', 'order-4002', 'OrderCreated', '{"text": "日本語テキスト 🚀", "escapes": "quote \" backslash \\ tab \t newline \n", "slash": "a/b", "control": "\u0001", "del": "\u007f", "lineSep": "\u2028", "emptyString": "", "space": " "}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-000000000005', 'jsonbExpandCustomer', 'cust-42', 'CustomerRegistered', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-000000000006', 'jsonbExpandOrder', 'order-4002', 'OrderShipped', '{"empty": {}, "emptyList": [], "nested": [[1, 2], [3]], "flags": [true, false, null], "ints": [1, null, 3], "deep": {"deeper": {"deepest": [{"k": "v"}]}}}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-000000000007', 'jsonbExpandCustomer', 'cust-41', 'CustomerRenamed', '"just a JSON string"');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-000000000008', 'jsonbExpandOrder', 'order-4001', 'OrderNoted', '42');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-000000000009', 'jsonbExpandOrder', 'order-4003', 'OrderCancelled', 'null');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-00000000000a', 'jsonbExpandOrder', 'order-4003', 'OrderRepriced', '{"mixed": [1, 2.5], "other": "the whole payload stays a string"}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-00000000000b', 'jsonbExpandCustomer', 'kunde-Müller', 'CustomerRegistered', '{"name": "Müller", "city": "Zürich", "hyphen-key": 1, "dotted.key": 2, "with space": 3, "ünïcödé": 4, "1digit": 5}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-00000000000c', 'jsonbExpandCustomer', 'cust-42', 'CustomerDeleted', '{"allNull": [null, null], "x": 1}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-00000000000d', 'jsonbExpandOrder', 'order-4002', 'OrderPaid', '{"z": 1, "a": 2, "mm": 3, "bb": {"y": true, "x": false}}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-00000000000e', 'jsonbExpandOrder', 'order-4001', 'OrderLinesChanged', '{"items": [{"a": 1}, {"a": 2, "b": "x"}, {"a": 3, "b": null}]}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-00000000000f', 'jsonbExpandCustomer', 'cust-41', 'CustomerUpdated', '{}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-000000000010', 'jsonbExpandCustomer', 'cust-43', 'CustomerTagged', '{"strings": ["a", "b"], "mixedTypes": [1, "a"]}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000004-0000-4000-8000-000000000011', 'jsonbExpandOrder', 'order-4003', 'OrderMeta', '{"onlyNull": null}');
