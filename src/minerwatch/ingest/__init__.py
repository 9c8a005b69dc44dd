"""Writing outside data into the store: file imports (:mod:`.files`, one transaction each)
and the incremental network sync (:mod:`.sync`)."""
