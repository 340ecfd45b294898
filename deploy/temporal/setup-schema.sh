#!/bin/sh
# One-shot (service `temporal-schema`, image temporalio/admin-tools): create Temporal's two
# databases on temporal-postgresql and bring their schemas to the version this admin-tools image
# ships. Every step is idempotent (existing databases are kept, `setup-schema -v 0.0` skips a
# schema that is already newer, `update-schema` applies only the missing versions), so it runs
# again harmlessly at each `docker compose up`, and after an image upgrade it migrates the schema
# before the new server starts. Keep admin-tools and server on the same version.
set -eu

: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${POSTGRES_PWD:?}"
DB_PORT="${DB_PORT:-5432}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12
export SQL_PASSWORD="$POSTGRES_PWD"

sql_tool() {
    temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

tries=0
until nc -z "$POSTGRES_SEEDS" "$DB_PORT"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "PostgreSQL at $POSTGRES_SEEDS:$DB_PORT did not answer" >&2
        exit 1
    fi
    sleep 1
done

for pair in temporal:temporal temporal_visibility:visibility; do
    db="${pair%%:*}"
    schema="${pair#*:}"
    echo "schema of database $db"
    sql_tool --db "$db" create
    sql_tool --db "$db" setup-schema -v 0.0
    sql_tool --db "$db" update-schema -d "$SCHEMA_DIR/$schema/versioned"
done
echo "Temporal schemas are up to date"
