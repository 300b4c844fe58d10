-- The claim analytics benchmark's data set (PostgreSQL): a year of a marketplace with
-- 1,000,000 orders, in bulk SQL. `cargo bench --bench analytics` runs it on an empty, migrated
-- database; by hand:
--
--   psql postgres://postgres@127.0.0.1:5432/oms_bench_analytics -f benches/analytics_data.sql
--
-- 100 sellers with 20 products each, 100,000 customers, 1,000,000 card orders placed evenly
-- over the 365 days before 2026-11-26, one or two lines each (1.5 million lines). 96% of the
-- lines are delivered two days after the order; one delivered line in 17 has a return or an
-- exchange, and one undelivered line in two a cancel (about 115,000 claims), spread over every
-- kind of status, reason and hold, with refunds and refund parts for those that closed units.
-- Foreign-key triggers are off while loading (the rows are consistent by construction).

SET session_replication_role = replica;

INSERT INTO sellers (id, name, base_shipping_fee, free_shipping_threshold, return_fee, created_at)
SELECT s, '판매자 ' || s, 3000, 50000, 3000, TIMESTAMPTZ '2025-01-01 00:00:00+09'
FROM generate_series(1, 100) s;

INSERT INTO products (id, seller_id, name, created_at)
SELECT p, (p - 1) / 20 + 1, '상품 ' || p, TIMESTAMPTZ '2025-01-01 00:00:00+09'
FROM generate_series(1, 2000) p;

INSERT INTO product_options (id, product_id, name, price, stock, instant_discount)
SELECT p, p, '기본', 10000 + (p % 50) * 1000, 1000000, 0
FROM generate_series(1, 2000) p;

INSERT INTO customers (id, name, email, points_balance, created_at)
SELECT c, '고객 ' || c, 'c' || c || '@example.com', 0, TIMESTAMPTZ '2025-01-01 00:00:00+09'
FROM generate_series(1, 100000) c;

-- Orders: 1,000,000 over 365 days.
INSERT INTO orders (id, order_number, customer_id, status, payment_method, items_net,
                    coupon_amount, points_used, shipping_total, cash_total, amount_due,
                    placed_at, updated_at, version)
SELECT o, 'B' || lpad(o::text, 9, '0'), o % 100000 + 1, 'PAID', 'CARD', 0, 0, 0, 0, 0, 0,
       TIMESTAMPTZ '2025-11-26 00:00:00+09' + (o * INTERVAL '31.536 seconds'),
       TIMESTAMPTZ '2025-11-26 00:00:00+09' + (o * INTERVAL '31.536 seconds'), 1
FROM generate_series(1, 1000000) o;

-- Lines: one per order, a second for even orders; ids 2·o−1 and 2·o.
INSERT INTO order_lines (id, order_id, line_no, seller_id, product_id, option_id, product_name,
                         option_name, unit_price, quantity, line_discount, net, coupon_share,
                         points_share, cash_share, status, cancelled_quantity,
                         returned_quantity, claimed_quantity, shipped_at, delivered_at)
SELECT l.id, l.o, l.n, (l.p - 1) / 20 + 1, l.p, l.p, '상품 ' || l.p, '기본',
       10000 + (l.p % 50) * 1000, l.q, 0, (10000 + (l.p % 50) * 1000) * l.q, 0, 0,
       (10000 + (l.p % 50) * 1000) * l.q,
       CASE WHEN l.id % 25 = 0 THEN 'PAID' ELSE 'DELIVERED' END, 0, 0, 0,
       CASE WHEN l.id % 25 = 0 THEN NULL ELSE l.placed + INTERVAL '1 day' END,
       CASE WHEN l.id % 25 = 0 THEN NULL ELSE l.placed + INTERVAL '2 days' END
FROM (
    SELECT 2 * o - 2 + n AS id, o, n, ((o * 7 + n * 13) % 2000) + 1 AS p, 1 + (o + n) % 3 AS q,
           TIMESTAMPTZ '2025-11-26 00:00:00+09' + (o * INTERVAL '31.536 seconds') AS placed
    FROM generate_series(1, 1000000) o
    CROSS JOIN generate_series(1, 2) n
    WHERE n = 1 OR o % 2 = 0
) l;

-- The 40 kinds of claim the data cycles through: type, status, and whether it is final.
CREATE TEMPORARY TABLE bench_kind (k int PRIMARY KEY, claim_type text, status text, final bool);
INSERT INTO bench_kind VALUES
  (0, 'RETURN', 'RETURN_COMPLETED', true), (1, 'RETURN', 'RETURN_COMPLETED', true),
  (2, 'RETURN', 'RETURN_COMPLETED', true), (3, 'RETURN', 'RETURN_COMPLETED', true),
  (4, 'RETURN', 'RETURN_COMPLETED', true), (5, 'RETURN', 'RETURN_REFUNDING', false),
  (6, 'RETURN', 'RETURN_COLLECTING', false), (7, 'RETURN', 'RETURN_REJECTED', true),
  (8, 'RETURN', 'RETURN_WITHDRAWN', true), (9, 'RETURN', 'RETURN_REQUESTED', false),
  (10, 'RETURN', 'RETURN_COMPLETED', true), (11, 'RETURN', 'RETURN_COMPLETED', true),
  (12, 'RETURN', 'RETURN_COLLECTED', false), (13, 'RETURN', 'RETURN_CONVERTED', true),
  (14, 'RETURN', 'RETURN_COMPLETED', true), (15, 'RETURN', 'RETURN_AWAITING_FEE', false),
  (16, 'EXCHANGE', 'EXCHANGE_COMPLETED', true), (17, 'EXCHANGE', 'EXCHANGE_COMPLETED', true),
  (18, 'EXCHANGE', 'EXCHANGE_COMPLETED', true), (19, 'EXCHANGE', 'EXCHANGE_COLLECTED', false),
  (20, 'EXCHANGE', 'EXCHANGE_REQUESTED', false), (21, 'EXCHANGE', 'EXCHANGE_REJECTED', true),
  (22, 'EXCHANGE', 'EXCHANGE_CONVERTED', true), (23, 'EXCHANGE', 'EXCHANGE_RESHIPPING', false),
  (24, 'EXCHANGE', 'EXCHANGE_REFUNDED', true), (25, 'EXCHANGE', 'EXCHANGE_WITHDRAWN', true),
  (26, 'RETURN', 'RETURN_COMPLETED', true), (27, 'RETURN', 'RETURN_COMPLETED', true),
  (28, 'RETURN', 'RETURN_REJECT_PENDING', false), (29, 'EXCHANGE', 'EXCHANGE_COMPLETED', true),
  (30, 'CANCEL', 'CANCEL_COMPLETED', true), (31, 'CANCEL', 'CANCEL_COMPLETED', true),
  (32, 'CANCEL', 'CANCEL_COMPLETED', true), (33, 'CANCEL', 'CANCEL_COMPLETED', true),
  (34, 'CANCEL', 'CANCEL_COMPLETED', true), (35, 'CANCEL', 'CANCEL_REFUNDING', false),
  (36, 'CANCEL', 'CANCEL_REJECTED', true), (37, 'CANCEL', 'CANCEL_WITHDRAWN', true),
  (38, 'CANCEL', 'CANCEL_REQUESTED', false), (39, 'CANCEL', 'CANCEL_COMPLETED', true);

CREATE TEMPORARY TABLE bench_reason (r int PRIMARY KEY, reason text, fault text);
INSERT INTO bench_reason VALUES
  (0, 'CHANGE_OF_MIND', 'CUSTOMER'), (1, 'SIZE_OR_OPTION_CHANGE', 'CUSTOMER'),
  (2, 'DEFECTIVE', 'SELLER'), (3, 'CHANGE_OF_MIND', 'CUSTOMER'),
  (4, 'WRONG_ITEM_DELIVERED', 'SELLER'), (5, 'ORDERED_BY_MISTAKE', 'CUSTOMER'),
  (6, 'DELIVERY_DELAYED', 'SELLER'), (7, 'OTHER', 'CUSTOMER');

CREATE TEMPORARY TABLE bench_hold (h int PRIMARY KEY, reason text);
INSERT INTO bench_hold VALUES
  (0, 'CUSTOMER_DISPUTE'), (1, 'INSPECTION'), (2, 'DAMAGED_BY_CUSTOMER'), (3, 'OTHER'),
  (4, 'RETURN_FEE_UNPAID');

-- Claims: one delivered line in 17 (a return or an exchange), one undelivered line in two (a
-- cancel). The claim's id is its line's id.
INSERT INTO claims (id, claim_number, order_id, seller_id, customer_id, claim_type, status,
                    reason, fault, hold_phase, hold_reason, hold_by, carries_collection,
                    collection_method, converted_to_id, policy_decision, return_fee,
                    initial_shipping_applies, coupon_clawback_applies, exchange_fee, fee_paid,
                    fee_credit, requested_by, requested_at, updated_at, closed_at, version)
SELECT c.id, 'B' || lpad(c.order_id::text, 9, '0') || '-C' || c.line_no, c.order_id,
       c.seller_id, c.order_id % 100000 + 1, k.claim_type, k.status, r.reason,
       CASE WHEN k.claim_type = 'CANCEL' THEN 'CUSTOMER' ELSE r.fault END,
       CASE WHEN NOT k.final AND c.id % 7 = 0 THEN 'HELD' ELSE 'NONE' END,
       CASE WHEN NOT k.final AND c.id % 7 = 0 THEN h.reason END,
       CASE WHEN NOT k.final AND c.id % 7 = 0 THEN 'OPERATOR' END,
       false, 'PICKUP',
       CASE WHEN k.status LIKE '%_CONVERTED' THEN c.id + 1 END,
       '{}', 3000, false, false,
       CASE WHEN k.claim_type = 'EXCHANGE' AND r.fault = 'CUSTOMER' THEN 6000 ELSE 0 END,
       CASE WHEN k.claim_type = 'EXCHANGE' AND r.fault = 'CUSTOMER'
                 AND k.status IN ('EXCHANGE_COMPLETED', 'EXCHANGE_COLLECTED', 'EXCHANGE_RESHIPPING')
            THEN 6000 ELSE 0 END,
       0, 'CUSTOMER', c.requested,
       CASE WHEN k.final THEN c.requested + (2 + c.id % 200) * INTERVAL '1 hour' ELSE c.requested END,
       CASE WHEN k.final THEN c.requested + (2 + c.id % 200) * INTERVAL '1 hour' END, 3
FROM (
    SELECT ol.id, ol.order_id, ol.line_no, ol.seller_id,
           CASE WHEN ol.delivered_at IS NULL THEN 30 + (ol.id / 2) % 10 ELSE (ol.id / 17) % 30 END AS k,
           COALESCE(ol.delivered_at, ol.shipped_at, o.placed_at) + (1 + ol.id % 72) * INTERVAL '1 hour' AS requested
    FROM order_lines ol JOIN orders o ON o.id = ol.order_id
    WHERE (ol.delivered_at IS NOT NULL AND ol.id % 17 = 0)
       OR (ol.delivered_at IS NULL AND ol.id % 2 = 0)
) c
JOIN bench_kind k ON k.k = c.k
JOIN bench_reason r ON r.r = c.id % 8
JOIN bench_hold h ON h.h = c.id % 5;

INSERT INTO claim_items (claim_id, line_id, quantity)
SELECT c.id, c.id, 1 FROM claims c;

-- Refunds of the claims that closed units: the unit's price, less a return fee for a
-- customer-fault return.
INSERT INTO refunds (claim_id, order_id, items_cash, items_points, shipping_refund_cash,
                     shipping_refund_points, clawback_returned_cash, clawback_returned_points,
                     credit, deductions, fee_due, cash, points, due_reduced, coupon_restored,
                     created_at)
SELECT c.id, c.order_id, ol.unit_price, 0, 0, 0, 0, 0, 0,
       CASE WHEN c.claim_type = 'RETURN' AND c.fault = 'CUSTOMER'
            THEN '[{"kind":"RETURN_SHIPPING","amount":3000,"from_cash":3000,"from_points":0,"as_fee":0}]'
            ELSE '[]' END,
       0,
       ol.unit_price - CASE WHEN c.claim_type = 'RETURN' AND c.fault = 'CUSTOMER' THEN 3000 ELSE 0 END,
       0, 0, false, COALESCE(c.closed_at, c.updated_at)
FROM claims c JOIN order_lines ol ON ol.id = c.id
WHERE c.status IN ('RETURN_COMPLETED', 'RETURN_REFUNDING', 'CANCEL_COMPLETED', 'CANCEL_REFUNDING',
                   'EXCHANGE_REFUNDED');

INSERT INTO refund_parts (refund_id, claim_id, method, amount, status, idempotency_key,
                          attempts, manual, updated_at)
SELECT r.id, r.claim_id, 'CARD', r.cash,
       CASE WHEN c.status LIKE '%_REFUNDING' THEN 'PENDING' ELSE 'SUCCEEDED' END,
       c.claim_number || '-bench', 1, false, r.created_at
FROM refunds r JOIN claims c ON c.id = r.claim_id
WHERE r.cash > 0;

-- The count of delivered units per KST day and seller that `markDelivered` keeps.
INSERT INTO analytics_delivered_units (day, seller_id, units)
SELECT CAST(((delivered_at AT TIME ZONE 'UTC') + INTERVAL '9 hours') AS DATE), seller_id,
       SUM(quantity - cancelled_quantity)
FROM order_lines WHERE delivered_at IS NOT NULL GROUP BY 1, 2;

SET session_replication_role = DEFAULT;

SELECT setval(pg_get_serial_sequence('sellers', 'id'), (SELECT max(id) FROM sellers));
SELECT setval(pg_get_serial_sequence('products', 'id'), (SELECT max(id) FROM products));
SELECT setval(pg_get_serial_sequence('product_options', 'id'), (SELECT max(id) FROM product_options));
SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT max(id) FROM customers));
SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders));
SELECT setval(pg_get_serial_sequence('order_lines', 'id'), (SELECT max(id) FROM order_lines));
SELECT setval(pg_get_serial_sequence('claims', 'id'), (SELECT max(id) FROM claims));
