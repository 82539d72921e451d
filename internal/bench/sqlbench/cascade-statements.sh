#!/bin/sh
# cascade-statements.sh times, with pgbench, the statements a 500-lot
# cascade runs over its later lots, and the alternatives
# docs/BENCHMARKS.md ("Session 9 (lead)") compares, on one sale of 500
# lots: first with short descriptions, then with 720-byte ones.
#
#   go build -o /tmp/gavel ./cmd/gavel
#   go run ./internal/testpg/pgrun -durable -- sh internal/bench/sqlbench/cascade-statements.sh /tmp/gavel
#
# (make bench-sale runs it too.) It needs TEST_DATABASE_URL (pgrun sets
# it) and pgbench and psql, from PATH or from Debian's PostgreSQL 15
# binaries, the ones pgrun prefers. Arrays travel as text literals
# and pgbench reads results as text, so the figures are higher than the
# bid path's binary ones; every statement is measured the same way.
set -eu
command -v pgbench >/dev/null || PATH=$PATH:/usr/lib/postgresql/15/bin
gavel=${1:?usage: cascade-statements.sh path/to/gavel}
db=${TEST_DATABASE_URL:?run under pgrun}
runs=${RUNS:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

DATABASE_URL=$db "$gavel" migrate >/dev/null
psql -q "$db" <<'EOF'
INSERT INTO users (email, name, password_hash, created_at) VALUES ('s@x', 's', 'x', now()), ('b@x', 'b', 'x', now());
INSERT INTO sales (seller_id, title, currency, status, opens_at, first_close_at, gap_seconds, soft_close_seconds,
    soft_close_mode, created_at, updated_at)
VALUES (1, 'sale', 'EUR', 'open', now(), now() + interval '1 hour', 1, 30, 'cascade', now(), now());
INSERT INTO auctions (seller_id, title, description, currency, start_price, starts_at, ends_at, original_ends_at,
    soft_close_seconds, max_extension_seconds, status, created_at, updated_at, sale_id, lot_number, current_price,
    leader_id, leader_alias, bid_count)
SELECT 1, 'Lot ' || g, 'A benchmark lot with a short description.', 'EUR', 1000, now(),
    now() + interval '1 hour' + g * interval '1 second', now() + interval '1 hour' + g * interval '1 second',
    30, 86400, 'open', now(), now(), 1, g, 1500, 2, 'Bidder 1', 3
FROM generate_series(1, 500) g;
ANALYZE;
EOF

later="FROM auctions WHERE sale_id = 1 AND lot_number > 1"
cols="id, seller_id, title, currency, start_price, reserve_price, buy_now_price, increment, starts_at, ends_at,
    original_ends_at, soft_close_seconds, max_extension_seconds, status, current_price, bid_count, leader_id,
    leader_max, leader_alias, bidder_count, seq, sale_id, lot_number, low_estimate, high_estimate, fees,
    created_at, updated_at"
agg() { psql -At "$db" -c "SELECT array_agg($1 ORDER BY id) $later"; }
ids=$(agg id)
st=$(agg status)
n=$(agg current_price)
li=$(agg "coalesce(leader_id, 0)")
la=$(agg leader_alias)
ea=$(agg "ends_at + interval '100 ms'")

cat >"$dir/lock-read.sql" <<EOF
BEGIN;
SET LOCAL enable_seqscan = off;
SELECT $cols FROM auctions WHERE id = ANY('$ids'::bigint[]) ORDER BY id FOR NO KEY UPDATE;
COMMIT;
EOF
cat >"$dir/lock-ids.sql" <<EOF
BEGIN;
SET LOCAL enable_seqscan = off;
SELECT id FROM auctions WHERE id = ANY('$ids'::bigint[]) ORDER BY id FOR NO KEY UPDATE;
COMMIT;
EOF
cat >"$dir/read.sql" <<EOF
SELECT $cols FROM auctions WHERE id = ANY('$ids'::bigint[]) ORDER BY id;
EOF
cat >"$dir/update-12.sql" <<EOF
BEGIN;
UPDATE auctions AS a SET status = v.status, current_price = v.current_price, bid_count = v.bid_count,
    leader_id = NULLIF(v.leader_id, 0), leader_max = v.leader_max, leader_alias = v.leader_alias,
    bidder_count = v.bidder_count, seq = v.seq, ends_at = v.ends_at, updated_at = v.updated_at,
    ends_floor = CASE WHEN v.moved THEN a.ends_floor ELSE v.ends_at END
FROM unnest('$ids'::bigint[], '$st'::text[], '$n'::bigint[], '$n'::bigint[], '$li'::bigint[], '$n'::bigint[],
    '$la'::text[], '$n'::bigint[], '$n'::bigint[], '$ea'::timestamptz[], '$ea'::timestamptz[], array_fill(true, array[499]))
    AS v(id, status, current_price, bid_count, leader_id, leader_max, leader_alias, bidder_count, seq, ends_at, updated_at, moved)
WHERE a.id = v.id;
COMMIT;
EOF
cat >"$dir/update-4.sql" <<EOF
BEGIN;
UPDATE auctions AS a SET seq = v.seq, ends_at = v.ends_at, updated_at = v.updated_at
FROM unnest('$ids'::bigint[], '$n'::bigint[], '$ea'::timestamptz[], '$ea'::timestamptz[]) AS v(id, seq, ends_at, updated_at)
WHERE a.id = v.id;
COMMIT;
EOF
cat >"$dir/relative-ids.sql" <<EOF
BEGIN;
UPDATE auctions SET ends_at = ends_at + interval '1 ms', seq = seq + 1, updated_at = now() WHERE id = ANY('$ids'::bigint[]);
COMMIT;
EOF
move="UPDATE auctions SET ends_at = LEAST(ends_at + interval '1 ms', original_ends_at + make_interval(secs => max_extension_seconds)),
    seq = seq + 1, updated_at = now()
WHERE sale_id = 1 AND lot_number > 1 AND status IN ('scheduled', 'open')"
printf 'BEGIN;\n%s;\nCOMMIT;\n' "$move" >"$dir/relative-range.sql"
printf 'BEGIN;\n%s\nRETURNING %s;\nCOMMIT;\n' "$move" "$cols" >"$dir/relative-returning.sql"

measure() {
	for script in lock-read lock-ids read update-12 update-4 relative-ids relative-range relative-returning; do
		printf '| %s | %s |' "$1" "$script"
		for _ in $(seq "$runs"); do
			# The statement's own line: the one that is neither BEGIN,
			# SET nor COMMIT.
			ms=$(pgbench -n -r -t 300 -f "$dir/$script.sql" "$db" 2>&1 |
				awk '$3 ~ /^(SELECT|UPDATE)$/ {print $1}')
			printf ' %s' "${ms:-failed}"
		done
		printf ' |\n'
	done
}
echo "| descriptions | statement | mean ms per run |"
echo "|---|---|---|"
measure short
psql -q "$db" -c "UPDATE auctions SET description = repeat('description words ', 40)" -c "VACUUM FULL auctions" -c "CHECKPOINT"
measure 720-byte
