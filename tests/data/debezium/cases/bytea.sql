-- Case bytea: the EventRouter's defaults with a bytea payload column (sent
-- as its bytes by ByteArrayConverter). {{table}} is replaced by the
-- schema-qualified table name. One INSERT per line, in order.
CREATE TABLE {{table}} (
  id uuid PRIMARY KEY,
  aggregatetype varchar(255) NOT NULL,
  aggregateid varchar(255) NOT NULL,
  type varchar(255) NOT NULL,
  payload bytea
);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000003-0000-4000-8000-000000000001', 'byteaOrder', 'order-3001', 'OrderCreated', '\x000102037f80fefffeff00');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000003-0000-4000-8000-000000000002', 'byteaBlob', 'blob-1', 'BlobStored', convert_to('héllo wörld 🚀', 'UTF8'));
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000003-0000-4000-8000-000000000003', 'byteaOrder', 'order-3001', 'OrderPaid', '\x');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000003-0000-4000-8000-000000000004', 'byteaBlob', 'blob-2', 'BlobStored', NULL);
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000003-0000-4000-8000-000000000005', 'byteaOrder', 'order-3002', 'OrderCreated', '\x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000003-0000-4000-8000-000000000006', 'byteaBlob', 'blob-1', 'BlobReplaced', convert_to('{"a": 1, "b": [true, null]}', 'UTF8'));
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000003-0000-4000-8000-000000000007', 'byteaOrder', 'order-3002', 'OrderShipped', '\x0a0b6f726465722d333030321005');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000003-0000-4000-8000-000000000008', 'byteaBlob', 'blob-3', 'BlobStored', '\x20202020');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000003-0000-4000-8000-000000000009', 'byteaOrder', 'order-3001', 'OrderClosed', '\xc3');
INSERT INTO {{table}} (id, aggregatetype, aggregateid, type, payload) VALUES ('00000003-0000-4000-8000-00000000000a', 'byteaBlob', 'blob-2', 'BlobDeleted', '\x00');
