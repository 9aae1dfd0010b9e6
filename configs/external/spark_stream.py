#!/usr/bin/env python3
"""The Spark Structured Streaming pipeline sluice replaces (seed report 002),
as a PySpark job sluice can measure: a file source over the input folder,
`foreachBatch` writing each micro-batch by JDBC into a staging table, then an
`INSERT ... ON CONFLICT (event_id) DO NOTHING` merge into the target.

    pip install pyspark==3.5.3        # and a Java 17 runtime
    sluice run configs/stress.toml --pipeline-table spark_events --pipeline-cmd \
      'python3 configs/external/spark_stream.py --input {input} \
         --database-url {database_url} --trigger {trigger} \
         --checkpoint {checkpoint} --ready-file {ready_file} --table {table}'

The PostgreSQL JDBC driver is SPARK_JDBC_JAR, else Debian's and Ubuntu's
(`apt-get install libpostgresql-jdbc-java`: /usr/share/java/postgresql.jar),
else fetched from Maven Central on first use (`spark.jars.packages`). Malformed rows are dropped by the CSV reader (DROPMALFORMED) and
rows with an empty required field before the write, as the seed's job did.
SIGTERM stops the query after its batch in flight.
"""

import argparse
import os
import re
import signal
import threading
import urllib.parse

from pyspark.sql import SparkSession
from pyspark.sql.types import (DecimalType, IntegerType, LongType, StringType,
                               StructField, StructType, TimestampType)

SCHEMA = StructType([
    StructField("event_id", StringType()),
    StructField("event_type", StringType()),
    StructField("user_id", LongType()),
    StructField("product_id", LongType()),
    StructField("category", StringType()),
    StructField("price", DecimalType(12, 2)),
    StructField("quantity", IntegerType()),
    StructField("event_time", TimestampType()),
])
REQUIRED = ["event_id", "event_type", "user_id", "product_id", "price", "quantity", "event_time"]
COLUMNS = ", ".join(f.name for f in SCHEMA.fields)


def jdbc_target(url):
    """`postgres://user:pw@host:port/db?…` → (JDBC URL, user, password)."""
    parts = urllib.parse.urlsplit(url)
    database = parts.path.lstrip("/") or "postgres"
    jdbc = f"jdbc:postgresql://{parts.hostname}:{parts.port or 5432}/{database}"
    user = urllib.parse.unquote(parts.username or "postgres")
    password = urllib.parse.unquote(parts.password or "")
    return jdbc, user, password


def trigger_of(text):
    """sluice's trigger text → the keyword arguments of `DataStreamWriter.trigger`."""
    if text == "available-now":
        return {"availableNow": True}
    if text == "continuous":
        return {"processingTime": "0 seconds"}
    total_ms = 0
    for value, unit in re.findall(r"([0-9]+)\s*(ms|s|m|h)", text):
        total_ms += int(value) * {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}[unit]
    return {"processingTime": f"{total_ms} milliseconds"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--trigger", default="10s")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--ready-file")
    parser.add_argument("--table", default="spark_events")
    parser.add_argument("--jdbc-batch-size", default="1000")
    args = parser.parse_args()

    builder = (SparkSession.builder.appName("events-stream").master("local[2]")
               # Two cores: 200 shuffle partitions per micro-batch would cost
               # more than the batch itself.
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.ui.enabled", "false"))
    jar = os.environ.get("SPARK_JDBC_JAR") or next(
        (p for p in ["/usr/share/java/postgresql.jar"] if os.path.exists(p)), None)
    # On the driver's class path too: DriverManager, which the merge uses,
    # sees only the JVM's own class path.
    builder = (builder.config("spark.jars", jar).config("spark.driver.extraClassPath", jar)
               if jar else
               builder.config("spark.jars.packages", "org.postgresql:postgresql:42.7.4"))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    jdbc, user, password = jdbc_target(args.database_url)
    props = {"user": user, "password": password, "driver": "org.postgresql.Driver",
             "batchsize": args.jdbc_batch_size}
    stage = f"{args.table}_stage"
    jvm = spark.sparkContext._jvm

    def execute(*statements):
        connection = jvm.java.sql.DriverManager.getConnection(jdbc, user, password)
        try:
            connection.setAutoCommit(False)
            statement = connection.createStatement()
            for sql in statements:
                statement.execute(sql)
            connection.commit()
        finally:
            connection.close()

    table = args.table
    execute(f"""CREATE TABLE IF NOT EXISTS {table} (
        event_id text PRIMARY KEY, event_type text NOT NULL, user_id bigint NOT NULL,
        product_id bigint NOT NULL, category text, price numeric(12,2) NOT NULL,
        quantity integer NOT NULL, event_time timestamptz NOT NULL)""",
            *(f"CREATE INDEX IF NOT EXISTS {table}_{c} ON {table} ({c})"
              for c in ("event_type", "user_id", "product_id", "event_time")))

    def write_batch(batch, batch_id):
        rows = batch.dropna(subset=REQUIRED).dropDuplicates(["event_id"])
        rows.write.option("truncate", "true").jdbc(jdbc, stage, mode="overwrite", properties=props)
        execute(f"INSERT INTO {table} ({COLUMNS}) SELECT {COLUMNS} FROM {stage} "
                f"ON CONFLICT (event_id) DO NOTHING")

    events = (spark.readStream.schema(SCHEMA)
              .option("header", "true")
              .option("mode", "DROPMALFORMED")
              .option("timestampFormat", "yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]XXX")
              .csv(args.input))
    query = (events.writeStream.foreachBatch(write_batch)
             .option("checkpointLocation", args.checkpoint)
             .trigger(**trigger_of(args.trigger))
             .start())
    if args.ready_file:
        open(args.ready_file, "w").close()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.is_set() and query.isActive:
        query.awaitTermination(0.5)
    query.stop()
    spark.stop()
    print("spark_stream: stopped", flush=True)


if __name__ == "__main__":
    main()
