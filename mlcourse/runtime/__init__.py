"""The runtime layer: getting and watching a Spark session.

``session`` builds one from a profile's plan (``mlcourse.config``), ``java`` finds Java and
starts the driver's JVM with its stderr filter, ``connect`` joins or serves Spark Connect,
``standalone`` runs a small standalone cluster, ``flavour`` tells a classic session from a
Connect one, ``jobs`` and ``progress`` name and follow Spark jobs, ``webui`` reaches the
Spark UI through the Jupyter server, and ``doctor`` checks all of it."""
