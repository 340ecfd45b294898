#!/bin/sh
# One-shot (service `temporal-setup`, image temporalio/admin-tools): create the namespace the app
# uses and register the order search attributes in it (rule B3). Idempotent: an existing
# namespace is kept, an attribute that already exists with the same type is fine, one that exists
# with another type is an error. The app never starts before this has exited 0.
#
#   TEMPORAL_ADDRESS              frontend host:port
#   TEMPORAL_NAMESPACE            namespace to create / use
#   TEMPORAL_NAMESPACE_RETENTION  how long closed workflow histories are kept (Go duration)
#   XIGUA_SEARCH_ATTRIBUTES       space-separated Name=Type pairs (Keyword, Datetime, ...)
set -eu

ADDRESS="${TEMPORAL_ADDRESS:?}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-720h}"
: "${XIGUA_SEARCH_ATTRIBUTES:?}"

tries=0
until temporal operator cluster health --address "$ADDRESS" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 90 ]; then
        echo "Temporal frontend at $ADDRESS is not serving" >&2
        exit 1
    fi
    sleep 2
done

if temporal operator namespace describe --address "$ADDRESS" -n "$NAMESPACE" >/dev/null 2>&1; then
    echo "namespace $NAMESPACE exists"
else
    temporal operator namespace create --address "$ADDRESS" -n "$NAMESPACE" --retention "$RETENTION"
fi

for pair in $XIGUA_SEARCH_ATTRIBUTES; do
    name="${pair%%=*}"
    type="${pair#*=}"
    if out=$(temporal operator search-attribute create --address "$ADDRESS" -n "$NAMESPACE" \
        --name "$name" --type "$type" 2>&1); then
        echo "search attribute $name ($type) registered"
        continue
    fi
    case "$out" in
        *"different type"*) echo "$out" >&2; exit 1 ;;
        *"already exists"* | *"AlreadyExists"*) echo "search attribute $name already registered" ;;
        *) echo "$out" >&2; exit 1 ;;
    esac
done

# Check the result rather than trust the messages above.
registered=$(temporal operator search-attribute list --address "$ADDRESS" -n "$NAMESPACE")
for pair in $XIGUA_SEARCH_ATTRIBUTES; do
    name="${pair%%=*}"
    if ! printf '%s\n' "$registered" | grep -qw "$name"; then
        echo "search attribute $name is missing from namespace $NAMESPACE" >&2
        exit 1
    fi
done

# The frontend caches namespace metadata (search attribute names included) and refreshes it
# periodically; give it that long before the first order upserts these attributes.
sleep "${SETTLE_SECONDS:-15}"
echo "namespace $NAMESPACE is ready"
