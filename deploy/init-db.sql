-- PostgreSQL set-up for Parley (the original server's init-db.sql): a login role and a database
-- it owns, nothing else. Parley's own versioned migrations create and upgrade the tables
-- (`parley migrate`, run by the container entrypoint and the systemd unit before serving);
-- Parley needs only the contrib extension `cube` (rooms near a place), which is trusted: migration
-- 9 creates it as the database owner (no PostGIS, no pgcrypto).
--
-- Runs once, as a superuser, with psql 15 or newer:
--   * by the postgres image, from /docker-entrypoint-initdb.d/ on an empty data volume
--     (deploy/compose.yaml mounts it there and passes PARLEY_DB_PASSWORD);
--   * by hand: PARLEY_DB_PASSWORD=... psql -U postgres -v ON_ERROR_STOP=1 -f deploy/init-db.sql
-- Environment: PARLEY_DB_PASSWORD (required), PARLEY_DB_USER and PARLEY_DB_NAME (default parley).
-- DATABASE_URL is then postgresql://<user>:<password>@<host>:5432/<name>.

\set ON_ERROR_STOP on
\getenv parley_user PARLEY_DB_USER
\getenv parley_db PARLEY_DB_NAME
\getenv parley_password PARLEY_DB_PASSWORD
\if :{?parley_user}
\else
  \set parley_user parley
\endif
\if :{?parley_db}
\else
  \set parley_db parley
\endif
\if :{?parley_password}
\else
  \echo 'init-db.sql: set PARLEY_DB_PASSWORD (the password of the Parley role)'
  SELECT 1 / 0 AS parley_db_password_is_not_set;
\endif

-- The application's role: it may log in and owns its database, nothing more (no superuser,
-- no CREATEDB, no CREATEROLE).
CREATE ROLE :"parley_user" LOGIN PASSWORD :'parley_password'
  NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;

-- UTF-8 whatever the cluster's default (chat text in every language); template0 so that the
-- encoding can be chosen.
CREATE DATABASE :"parley_db" OWNER :"parley_user" ENCODING 'UTF8' TEMPLATE template0;

-- Only the owner (and superusers) may connect. Timestamps are stored as Unix milliseconds;
-- UTC keeps anything printed by psql unambiguous.
REVOKE ALL ON DATABASE :"parley_db" FROM PUBLIC;
ALTER DATABASE :"parley_db" SET timezone TO 'UTC';

-- PostgreSQL 15: the public schema belongs to the database owner (pg_database_owner) and
-- nobody else may create in it, so the migrations, run as the owner, create the tables there.
\connect :"parley_db"
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO PUBLIC;
