#!/usr/bin/env bash
# Starts the local PostgreSQL cluster when it is not running, and makes sure the test role
# and database exist. Prints the DATABASE_URL the tests should use.
set -euo pipefail
role=trialcheck
password=trialcheck-test
database=${TRIALCHECK_PG_DATABASE:-trialcheck_test}
cluster=$(pg_lsclusters --no-header 2>/dev/null | awk 'NR==1 {print $1" "$2}')
if [[ -z $cluster ]]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  pg_createcluster "$version" main >&2
  cluster="$version main"
fi
read -r version name <<<"$cluster"
if ! pg_lsclusters --no-header | awk -v v="$version" -v n="$name" '$1==v && $2==n {print $4}' | grep -q online; then
  pg_ctlcluster "$version" "$name" start >&2
fi
port=$(pg_lsclusters --no-header | awk -v v="$version" -v n="$name" '$1==v && $2==n {print $3}')
as_postgres() { su postgres -c "$1"; }
for _ in $(seq 1 30); do
  as_postgres "psql -p $port -tAc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
if [[ $(as_postgres "psql -p $port -tAc \"select 1 from pg_roles where rolname='$role'\"") != 1 ]]; then
  as_postgres "psql -p $port -qc \"create role $role login password '$password'\"" >&2
fi
if [[ $(as_postgres "psql -p $port -tAc \"select 1 from pg_database where datname='$database'\"") != 1 ]]; then
  as_postgres "createdb -p $port -O $role $database" >&2
fi
echo "postgresql://$role:$password@127.0.0.1:$port/$database"
