"""The public estimators' shared numpydoc sections (parameters and fitted attributes)."""

PARAMS_DOC = """
    Parameters
    ----------
    time_budget : float, default=60
        Wall-clock seconds for the whole ``fit`` (search, ensembling and refit).
    metric : str, scorer or None, default=None
        A scikit-learn scorer name (e.g. ``"roc_auc"``, ``"neg_log_loss"``,
        ``"balanced_accuracy"``, ``"r2"``) or a ``make_scorer`` object. ``None`` means
        ``roc_auc`` for binary, ``neg_log_loss`` for multiclass and
        ``neg_root_mean_squared_error`` for regression.
    max_evals : int or None, default=None
        Upper bound on the number of trials.
    n_jobs : int, default=1
        Trials run in parallel (``-1``: one per CPU), on a local Dask cluster when > 1;
        prediction uses as many threads (members predict concurrently).
    dask_client : distributed.Client or None, default=None
        Run the trials on this Dask cluster (e.g. many machines) instead; it is used as
        given and left running.
    include, exclude : list of str or None
        Model families to search (or to leave out), e.g. ``["lightgbm", "linear"]``.
    resampling : {"auto", "holdout", "cv", "repeated_cv"} or int, default="auto"
        Validation scheme: ``"auto"`` repeats 5-fold CV three times on binary and
        regression tasks of at most 500 rows, uses 5-fold CV up to 2,000 rows (3-fold
        when ``time_budget`` is under 60 s), 3-fold up to 20,000 and a 20 % holdout beyond
        (the search then trains on at most 200 rows per second of ``time_budget``, from
        10,000 to 200,000, and validates on a quarter as many; the final pipelines are
        refit on all rows); ``"repeated_cv"``: 5-fold CV three times with other
        shuffles (losses and ensemble weights rest on 15 splits; trials cost three
        times as much); an int means k-fold CV.
    per_trial_time_limit : float or None
        Seconds per trial (default: a fifth of ``time_budget``, at least 4 s).
    memory_limit : float or None
        Megabytes of resident memory for a trial's worker process; a trial exceeding it
        is stopped and recorded as ``memout``.
    ensemble_size : int, default=50
        Steps of greedy ensemble selection (the best of the nested ensembles they build
        is kept); 1 keeps the single best pipeline.
    ensemble_nbest : int, default=50
        Number of best trials ensemble selection chooses from (under a rank metric such
        as ROC AUC, among those that gain at least half as much over predicting the class
        shares as the best).
    infer_limit : float or None, default=None
        Most seconds per row a prediction of ``infer_limit_batch_size`` rows may take
        (e.g. ``1e-5``: 10 ms per 1,000 rows). Ensemble selection then combines only
        pipelines whose prediction times, estimated from their trials, add up to less;
        after the refit the members are timed and the slowest for their weight dropped
        until the sum fits. When no pipeline fits, the fastest one is kept alone. The
        choice rests on measured times, so ``random_state`` with ``max_evals`` no
        longer fixes the ensemble exactly.
    infer_limit_batch_size : int or None, default=None
        Rows of the batch the prediction time is measured on (``None``: 1,000); 1 for
        row-by-row serving, 10,000 for batch scoring. The final ensemble's measured
        seconds per row are ``predict_latency_``.
    extra_models : list of ModelSpec or None
        Additional model families to search besides the built-in ones
        (see ``autometa.components.ModelSpec``).
    warm_start : bool, default=False
        When True, ``fit`` on the data of the previous ``fit`` continues its search (its
        trials are kept and SMAC goes on from its run history) for another
        ``time_budget``, then rebuilds the ensemble.
    meta_learning : {"auto", "greedy", "off"}, default="auto"
        How the search starts. ``"auto"``: the greedy portfolio order recomputed with the
        source tasks nearest to this one in meta-feature space weighted up (the more, the
        closer they are; for classification, source tasks of the same kind, binary or
        multiclass), handed out one at a time: from the third loss seen on, the source
        tasks that rank the configurations tried as this task does count more (see
        :meth:`autometa.portfolio.Portfolio.select`); ``"greedy"``: the greedy portfolio
        of all source tasks; ``"off"``: SMAC's own random initial design. The default
        LightGBM and HistGradientBoosting configurations are always tried (when searched),
        after the third pick, or after the first on more rows than the portfolio
        measured its candidates on (1,500).
    n_initial_configs : int, default=16
        Number of portfolio configurations evaluated first.
    n_learned_configs : int, default=0
        Number of configurations the hp-learner shipped with the package proposes after
        the portfolio's (with ``meta_learning="auto"``): a network trained across the
        corpus's tasks to predict a configuration's loss from the task's meta-features,
        adapted with a few gradient steps on this task's losses so far, ranks a random
        sample of the whole search space (see :mod:`autometa.hplearner`). The
        leaderboard's origin of its picks is ``"hp-learner"``.
    surrogate : {"auto", "rf", "rgpe"}, default="auto"
        The model SMAC proposes configurations with. ``"rf"``: its random forest, trained
        on this task's trials alone; ``"rgpe"``: a ranking-weighted ensemble of that
        forest and one forest per source task (the 20 nearest in meta-feature space of
        the portfolio's source tasks, and of the experience store's fits when it is on)
        and the hp-learner (when the search space is the one it was trained on), each
        weighted by how well it ranks this task's trials so far (see
        :mod:`autometa.rgpe`); ``"auto"``: ``"rf"`` for now.
    portfolio : Portfolio, str, path or None, default=None
        A portfolio (or its JSON file) to start from instead of the shipped one, e.g.
        one built on your own corpus, or ``autometa.portfolio.load(task).without(groups)``
        to hold tasks out.
    callbacks : list of Callback or None, default=None
        Objects told of the fit's start, of every finished trial and of its end
        (:class:`autometa.callbacks.Callback`), e.g. to log trials elsewhere; one that
        raises ``KeyboardInterrupt`` in ``on_trial`` ends the search early.
    experience : None, False, str, path or ExperienceStore, default=None
        An experience store (an SQLite file: a path or ``sqlite:///path``) this fit
        records itself in when it ends (also when interrupted), and whose earlier fits
        its initial design starts from: they join the portfolio's source tasks, and the
        best configurations of an earlier fit of the same table come first (see
        :mod:`autometa.experience_use`). ``None``: the store named by the environment
        variable ``AUTOMETA_EXPERIENCE`` when it is set (read at fit time), else none;
        ``False``: none. The data itself is never stored. A store that cannot be used
        (locked, corrupt, read-only, of a newer schema) gives one warning and the fit
        goes on without it.
    experience_tag : str or None, default=None
        A label for this fit's record in the experience store, e.g. the dataset's name.
    fidelity : {"auto", "full", "successive_halving", "hyperband"}, default="auto"
        Whether trials first run on subsets of the training rows (multi-fidelity search,
        SMAC's successive halving or Hyperband with eta = 3 over the rows of each split;
        the validation rows stay the same). ``"full"``: every trial trains on all search
        rows; ``"successive_halving"`` / ``"hyperband"``: configurations start on the
        lowest rung — sized so that a typical portfolio candidate's trial there costs
        about 1.5 % of ``time_budget``, with at least 500 rows and 10 of every class —
        and a third of each rung is promoted to the next, three times as large, up to
        all rows (the initial design's configurations enter at the lowest rung like any
        other); only the highest fidelity's trials are ensembled and refit. ``"auto"``:
        successive halving when a full trial of the cheapest portfolio candidate is
        expected (from the portfolio's measured seconds per row) to take more than 3 %
        of ``time_budget`` and the rows leave room for two rungs, else ``"full"``.
        With ``n_jobs > 1``, a worker left idle while a rung finishes waits for its
        promotions; it starts a new bracket only while the highest rung runs.
    proxy_subsets : {"boundary", "random"}, default="random"
        Which rows a lower fidelity trains on (the subsets are nested): ``"random"``: a
        stratified random sample (class shares, or target deciles); ``"boundary"``:
        half of them the rows a cheap model is least sure of (smallest margin between
        its two most probable classes, or largest residual), half stratified random.
    random_state : int, RandomState or None
        Seed; the same seed with ``max_evals`` gives the same result with ``n_jobs=1``
        (in parallel, the order in which trials finish steers the next choices).
    verbose : int, default=0
        Show progress when > 0 (a :class:`autometa.progress.FitProgress` callback).
"""

ATTRS_DOC = """
    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Column names seen during fit (only when X was a DataFrame).
    leaderboard_ : DataFrame
        Every trial (see :meth:`leaderboard`).
    best_config_ : dict
        Configuration of the best single pipeline.
    best_score_ : float
        Its validation score.
    ensemble_ : Ensemble
        The fitted members and their weights.
    metric_ : Metric
        The metric optimised.
    versions_ : dict
        Versions of autometa and the libraries its pipelines use, at fit time; loading
        the model (unpickling) under other versions of those its pipelines need warns.
    predict_latency_ : float or None
        The ensemble's measured seconds per row on a batch of ``infer_limit_batch_size``
        training rows at the end of the fit (``None`` when the budget left no time to
        measure).
    metafeatures_ : dict or None
        The task's meta-features (computed when ``meta_learning="auto"``).
    initial_configs_ : list of dict
        The portfolio configurations evaluated first, in the order they were handed out
        (at most ``n_initial_configs``, fewer when ``max_evals`` or the time budget ends
        the search sooner), each with the reason it was chosen
        (``"knn:<source task>"`` when the nearest tasks moved it up the greedy order,
        naming the neighbour it does best on, ``"experience:<tag>"`` when an earlier fit
        in the experience store chose it (named by its ``experience_tag``, else the
        start of its fingerprint; the leaderboard's origin is then ``"experience"``),
        ``"default"`` for the default LightGBM and HistGradientBoosting, else
        ``"greedy"``).
    surrogate_weights_ : DataFrame or None
        With ``surrogate="rgpe"``: the weight of each source task's model and of this
        task's own (column ``"target"``) at each retraining of SMAC's model, indexed by the
        trials it learnt from; ``None`` with SMAC's random forest.
"""

THRESHOLD_DOC = """    threshold_ : float or None
        Decision threshold of a binary task: ``predict`` says ``classes_[1]`` when its
        probability is at least this. Tuned on the ensemble's validation predictions when
        the metric scores labels (F1, balanced accuracy, MCC, precision, recall, ...);
        0.5 for metrics of probabilities (ROC AUC, log loss); ``None`` for multiclass.
"""

TEMPERATURE_DOC = """    temperature_ : float
        Temperature scaling the ensemble's probabilities: ``predict_proba`` returns
        ``softmax(log(p) / temperature_)`` of the blend ``p`` (above 1 softer, below 1
        sharper). Fitted on the ensemble's validation predictions when the metric scores
        the level of the probabilities (log loss, Brier score) and kept only when it
        lowers the loss on held-out halves of them by more than 1 % and two standard
        errors (and, below 1, when at least 10 validation rows are misclassified); else 1.
"""

TARGET_TRANSFORM_DOC = """    target_transform : {"none", "auto"}, default="none"
        ``"none"``: every model learns the raw target. ``"auto"``: the search also
        chooses how the models learn the target: as it is, as ``sign(y) * log1p(|y|)``
        (``log1p`` on a non-negative target) or Yeo-Johnson transformed; predictions are
        transformed back (see :mod:`autometa.components.target`) and scored on the
        original scale. ``"none"`` is the default because ``"auto"`` did not score better
        on the benchmark tasks, skewed targets included (``benchmarks/README.md``).
"""
