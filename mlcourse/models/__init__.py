"""The models layer: Day 3's Keras networks (``neural`` builds and checks them, ``scoring``
scores them in Spark's executors, ``keras_setup`` chooses the backend) and Day 4's
distributed boosting (``boosting``, xgboost.spark)."""
