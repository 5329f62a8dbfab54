"""The validation protocol the diagnostic scripts share."""

#: Share of the training period, its latest rows, that validates.
VALIDATION_FRACTION = 0.2


def whole_curve_estimator(model_class, settings, epochs, seed):
    """An estimator scored on the latest rows of its data after every epoch.

    It trains for all ``epochs`` on the first 80 % of the rows it is given,
    never stopping early, so its ``history_`` holds the whole validation
    curve.
    """
    return model_class(
        **settings,
        max_epochs=epochs,
        early_stopping=True,
        validation_split="last",
        validation_fraction=VALIDATION_FRACTION,
        n_iter_no_change=epochs,
        random_state=seed,
    )
