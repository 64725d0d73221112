"""Rasa's graph runs (each message's NLU, each next-action prediction) without dask.

Rasa 3.6 hands every run of its model graph to `dask.get`: a scheduler with task
queues, callbacks and ordering heuristics for a graph of a dozen nodes run on one
thread. Under load that bookkeeping cost about a tenth of the engine's time per
turn (docs/performance.md). The graph is a plain dask graph (each node is
`(callable, *names of the nodes it needs)`, each input `(name, value)`), so it is
evaluated here with the same meaning: every node needed by a target runs once,
after the nodes it needs, and gets their results in the order the schema lists.
Rasa's debug line listing every input is left out: it formatted them on each run,
logged or not.
"""

from typing import Any, Dict, Hashable, List, Optional, Text

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner


def evaluate(graph: Dict[Text, Any], targets: List[Text]) -> List[Any]:
    """The targets' values, as `dask.get(graph, targets)` gives them (for graphs whose
    tasks take node names or literals, which is all Rasa builds)."""
    done: Dict[Text, Any] = {}

    def value(key: Text) -> Any:
        if key in done:
            return done[key]
        entry = graph[key]
        if isinstance(entry, tuple) and entry and callable(entry[0]):
            function, *arguments = entry
            result = function(*(_argument(argument) for argument in arguments))
        else:
            result = entry  # an input: dask hands it over as it is
        done[key] = result
        return result

    def _argument(argument: Any) -> Any:
        if isinstance(argument, Hashable) and argument in graph:
            return value(argument)
        return argument

    return [value(target) for target in targets]


def run(
    self: DaskGraphRunner,
    inputs: Optional[Dict[Text, Any]] = None,
    targets: Optional[List[Text]] = None,
) -> Dict[Text, Any]:
    """Rasa's `DaskGraphRunner.run`, with `evaluate` in place of `dask.get`."""
    run_targets = targets if targets else self._graph_schema.target_names
    run_graph = self._build_dask_graph(self._graph_schema.minimal_graph_schema(run_targets))
    if inputs:
        self._add_inputs_to_graph(inputs, run_graph)
    try:
        return dict(evaluate(run_graph, run_targets))
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error
