#!/bin/sh
# One-shot job (temporalio/admin-tools): create or upgrade the two Temporal databases,
# `temporal` (persistence) and `temporal_visibility` (SQL visibility), in PostgreSQL.
#
# Safe to re-run against an existing volume: `create` ignores an existing database, `setup-schema
# -v 0.0` skips databases whose schema is already past 0.0, and `update-schema` applies only the
# versioned migrations newer than the recorded version (so it also upgrades after a server bump).
set -eu

: "${DB:=postgres12}"
: "${DB_PORT:=5432}"
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is not set}"
: "${POSTGRES_USER:?POSTGRES_USER is not set}"
: "${POSTGRES_PWD:?POSTGRES_PWD is not set}"
: "${DBNAME:=temporal}"
: "${VISIBILITY_DBNAME:=temporal_visibility}"
: "${TEMPORAL_HOME:=/etc/temporal}"

SCHEMA_DIR="${TEMPORAL_HOME}/schema/postgresql/v12"

# temporal-sql-tool reads the password from SQL_PASSWORD; keep it off the command line.
SQL_PASSWORD="${POSTGRES_PWD}"
export SQL_PASSWORD

sql_tool() {
    temporal-sql-tool --plugin "${DB}" --ep "${POSTGRES_SEEDS}" -p "${DB_PORT}" \
        -u "${POSTGRES_USER}" "$@"
}

echo "Waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}..."
attempt=0
until nc -z -w 5 "${POSTGRES_SEEDS}" "${DB_PORT}"; do
    attempt=$((attempt + 1))
    if [ "${attempt}" -ge 60 ]; then
        echo "PostgreSQL did not accept connections after ${attempt} attempts" >&2
        exit 1
    fi
    sleep 2
done

setup_db() {
    db="$1"
    versioned="$2"
    echo "Schema for database '${db}'"
    sql_tool --db "${db}" create
    sql_tool --db "${db}" setup-schema -v 0.0
    sql_tool --db "${db}" update-schema -d "${SCHEMA_DIR}/${versioned}/versioned"
}

setup_db "${DBNAME}" temporal
setup_db "${VISIBILITY_DBNAME}" visibility

echo "Temporal schemas are up to date"
