"""The run's stages, in the order :mod:`cmflow.runner` calls them, each a module with one entry
point that takes what it needs and returns what it made:

- :mod:`~cmflow.stages.fetch`: the sources' records (incremental ones: see :mod:`~cmflow.stages.incremental`);
- :mod:`~cmflow.stages.filter_rows` and :mod:`~cmflow.stages.clients`: each source's ``where``, the clients' labels;
- :mod:`~cmflow.stages.classify`: the ``[[classifiers]]``' sentiment and language on texts without one;
- :mod:`~cmflow.stages.measure`: the metrics over every period, as one measurement frame;
- :mod:`~cmflow.stages.compare`: each current measurement against the comparison periods;
- :mod:`~cmflow.stages.evaluate`: the triggers' rules, and the alert lifecycle (:mod:`~cmflow.stages.lifecycle`);
- :mod:`~cmflow.stages.compose`: the notifier outputs' messages;
- :mod:`~cmflow.stages.record`: the state and the messages, written in one transaction;
- :mod:`~cmflow.stages.deliver`: the outputs, then the outbox.

Around them, :mod:`~cmflow.stages.run_periods` resolves the run's periods and
:mod:`~cmflow.stages.run_history` keeps the run's row in the store's history (lock, crash, outcome).
A stage imports lower layers and helper modules of this package, never a stage that runs after it.
"""
