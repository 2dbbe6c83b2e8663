-- Case text: the EventRouter's defaults with a text payload column (sent
-- as its UTF-8 bytes by StringConverter). {{table}} is replaced by the
-- schema-qualified table name. One INSERT per line, in order.
CREATE TABLE {{table}} (
  id uuid PRIMARY KEY,
  aggregatetype varchar(255) NOT NULL,
  aggregateid varchar(255) NOT NULL,
  type varchar(255) NOT NULL,
  payload text
);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000002-0000-4000-8000-000000000001', 'textOrder', 'order-2001', 'OrderCreated', 'plain text payload');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000002-0000-4000-8000-000000000002', 'textCustomer', 'cust-21', 'CustomerRegistered', 'Grüße aus Köln — 日本語 🚀 ελληνικά');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000002-0000-4000-8000-000000000003', 'textOrder', 'order-2001', 'OrderPaid', E'line one\nline two\r\nline three\ttabbed');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000002-0000-4000-8000-000000000004', 'textOrder', 'order-2002', 'OrderCreated', '{"orderId":2002, "spacing" :  "kept as written",   "n": 1.50}');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000002-0000-4000-8000-000000000005', 'textCustomer', 'cust-22', 'CustomerRegistered', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000002-0000-4000-8000-000000000006', 'textCustomer', 'cust-21', 'CustomerNoted', '');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000002-0000-4000-8000-000000000007', 'textOrder', 'order-2002', 'OrderNoted', '   ');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000002-0000-4000-8000-000000000008', 'textOrder', 'order-2003', 'OrderCreated', E'back\\slash and "quotes" and ''apostrophes''');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000002-0000-4000-8000-000000000009', 'textCustomer', '', 'CustomerImported', 'empty aggregateid: an empty key, not a missing one');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000002-0000-4000-8000-00000000000a', 'textCustomer', 'kunde-Müller', 'CustomerRegistered', 'Müller');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000002-0000-4000-8000-00000000000b', 'textOrder', 'order-2001', 'OrderShipped', ' leading and trailing spaces ');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000002-0000-4000-8000-00000000000c', 'textOrder', 'order-2003', 'OrderPaid', E'control \x01 and DEL \x7f');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000002-0000-4000-8000-00000000000d', 'textCustomer', 'cust-22', 'CustomerDeleted', 'null');
