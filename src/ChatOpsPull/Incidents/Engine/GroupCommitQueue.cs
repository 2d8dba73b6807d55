using System.Collections.Concurrent;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// Group commit per key: items of one key that arrive while another caller is committing that key's items are committed
/// together in the next round, by that caller. A storm of a thousand reports of one workload costs a few transactions,
/// not a thousand. A round takes its items when it starts to write (<see cref="Round.Take"/>, inside its transaction),
/// not when it is begun: the items that arrive while it waits for its turn to write (the subject lock, a write turn
/// behind other subjects' rounds) ride in it too, so a round holds more items the longer the queue in front of it, and
/// a backlog shrinks faster the larger it gets. Each caller's task completes when the round holding its item committed
/// (or fails with that round's error); one caller giving up does not fail the others' items.
/// </summary>
internal sealed class GroupCommitQueue<TItem>
{
    private readonly ConcurrentDictionary<string, Batch> _batches = new(StringComparer.Ordinal);

    /// <param name="commit">
    /// Commits one round of the key's items: calls <see cref="Round.Take"/> in each attempt, where it writes them, and
    /// writes the items it returns, in arrival order.
    /// </param>
    public async Task AddAsync(string key, TItem item, Func<Round, Task> commit, CancellationToken cancellationToken)
    {
        var pending = new Pending(item);
        var batch = _batches.GetOrAdd(key, _ => new Batch());
        bool commitHere;
        lock (batch)
        {
            batch.Items.Add(pending);
            commitHere = !batch.Committing;
            batch.Committing = true;
        }

        if (commitHere)
        {
            await CommitRoundsAsync(key, batch, commit).ConfigureAwait(false);
        }

        await pending.Committed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task CommitRoundsAsync(string key, Batch batch, Func<Round, Task> commit)
    {
        while (true)
        {
            lock (batch)
            {
                if (batch.Items.Count == 0)
                {
                    batch.Committing = false;
                    _batches.TryRemove(new KeyValuePair<string, Batch>(key, batch));
                    return;
                }
            }

            var round = new Round(batch);
            try
            {
                await commit(round).ConfigureAwait(false);
                if (round.Taken.Count == 0)
                {
                    throw new InvalidOperationException("A group commit round committed without taking its items.");
                }

                round.Taken.ForEach(p => p.Committed.TrySetResult());
            }
#pragma warning disable CA1031 // handed to every caller of the round, who retries
            catch (Exception e)
#pragma warning restore CA1031
            {
                // A round that failed before it took anything (no turn, no connection) fails the items it would have taken.
                if (round.Taken.Count == 0)
                {
                    round.Take();
                }

                round.Taken.ForEach(p => p.Committed.TrySetException(e));
            }
        }
    }

    /// <summary>One round of a key's commits: the items it holds are those waiting when it takes them.</summary>
    public sealed class Round
    {
        private readonly Batch _batch;

        internal Round(Batch batch) => _batch = batch;

        internal List<Pending> Taken { get; } = [];

        /// <summary>
        /// Takes into the round every item of the key waiting now, after those it took before (an attempt after a failed
        /// one holds them all again), and returns them all, in arrival order. Each is answered by this round's outcome.
        /// </summary>
        public IReadOnlyList<TItem> Take()
        {
            lock (_batch)
            {
                Taken.AddRange(_batch.Items);
                _batch.Items.Clear();
            }

            return Taken.ConvertAll(p => p.Item);
        }
    }

    internal sealed class Pending(TItem item)
    {
        public TItem Item { get; } = item;

        public TaskCompletionSource Committed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>The key's items not yet taken by a round, and whether a caller is committing them.</summary>
    internal sealed class Batch
    {
        public List<Pending> Items { get; } = [];

        public bool Committing { get; set; }
    }
}
