#!/bin/sh
# One-shot job (temporalio/admin-tools): create the motcua namespace and register the search
# attributes the application queries on. Safe to re-run: an existing namespace only gets its
# retention re-applied, and attributes that already exist with the same type are skipped.
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${MOTCUA_NAMESPACE:=motcua}"
# Closed dossiers stay in Temporal for a year (appeals, audits in the UI); motcua archives
# every closed history in its own database, which outlives this retention.
: "${MOTCUA_NAMESPACE_RETENTION:=365d}"

# A frontend behind TLS: the same variables as motcua's own processes (docs/deployment.md).
TLS_FLAGS=""
add_tls() {
    # add_tls <flag> <value>: pass the flag when the value is set (paths without spaces).
    [ -n "$2" ] || return 0
    case "$2" in
    *" "*)
        echo "$1: the path must not contain spaces: $2" >&2
        exit 2
        ;;
    esac
    TLS_FLAGS="${TLS_FLAGS} $1 $2"
}
add_tls --tls-ca-path "${MOTCUA_TEMPORAL_TLS_CA_FILE:-}"
add_tls --tls-cert-path "${MOTCUA_TEMPORAL_TLS_CERT_FILE:-}"
add_tls --tls-key-path "${MOTCUA_TEMPORAL_TLS_KEY_FILE:-}"
add_tls --tls-server-name "${MOTCUA_TEMPORAL_TLS_SERVER_NAME:-}"

tcli() {
    # shellcheck disable=SC2086 # TLS_FLAGS is split on purpose
    temporal "$@" --address "${TEMPORAL_ADDRESS}" ${TLS_FLAGS:+--tls} ${TLS_FLAGS}
}

retry() {
    # retry <attempts> <command...>: run the command until it succeeds, 2 s apart.
    max="$1"
    shift
    n=0
    until "$@" >/dev/null 2>&1; do
        n=$((n + 1))
        if [ "${n}" -ge "${max}" ]; then
            echo "giving up after ${n} attempts: $*" >&2
            "$@" # run once more with its output visible, for the log
            return 1
        fi
        sleep 2
    done
}

echo "Waiting for the Temporal frontend at ${TEMPORAL_ADDRESS}..."
retry 60 tcli operator cluster health

if tcli operator namespace describe --namespace "${MOTCUA_NAMESPACE}" >/dev/null 2>&1; then
    echo "Namespace '${MOTCUA_NAMESPACE}' exists; setting retention ${MOTCUA_NAMESPACE_RETENTION}"
    tcli operator namespace update --namespace "${MOTCUA_NAMESPACE}" \
        --retention "${MOTCUA_NAMESPACE_RETENTION}"
else
    echo "Creating namespace '${MOTCUA_NAMESPACE}' (retention ${MOTCUA_NAMESPACE_RETENTION})"
    tcli operator namespace create --namespace "${MOTCUA_NAMESPACE}" \
        --retention "${MOTCUA_NAMESPACE_RETENTION}" \
        --description "motcua one-stop-shop dossiers"
fi

# A new namespace reaches the frontend's namespace cache after a few seconds.
retry 30 tcli operator search-attribute list --namespace "${MOTCUA_NAMESPACE}"

# ONE create with repeated --name/--type: separate back-to-back creates have dropped attributes
# (temporalio/temporal#4073). Keep this list in sync with motcua.devserver.DEFAULT_SEARCH_ATTRIBUTES.
# SQL visibility allows at most 10 Keyword and 3 each of Text/Int/Double/Bool/Datetime/KeywordList.
echo "Registering search attributes in '${MOTCUA_NAMESPACE}'"
tcli operator search-attribute create --namespace "${MOTCUA_NAMESPACE}" \
    --name DossierStatus --type Keyword \
    --name ProcedureCode --type Keyword \
    --name AgencyCode --type Keyword \
    --name StatutoryDeadline --type Datetime \
    --name Escalated --type Bool

tcli operator search-attribute list --namespace "${MOTCUA_NAMESPACE}"
echo "Namespace '${MOTCUA_NAMESPACE}' is ready"
