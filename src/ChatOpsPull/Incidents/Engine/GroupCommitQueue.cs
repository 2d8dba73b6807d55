using System.Collections.Concurrent;

namespace ChatOpsPull.Incidents.Engine;

/// <summary>
/// Group commit per key: items of one key that arrive while another caller is committing that key's items are committed
/// together in the next round, by that caller. A storm of a thousand reports of one workload costs a few transactions,
/// not a thousand. Each caller's task completes when the round holding its item committed (or fails with that round's
/// error); one caller giving up does not fail the others' items.
/// </summary>
internal sealed class GroupCommitQueue<TItem>
{
    private readonly ConcurrentDictionary<string, Batch> _batches = new(StringComparer.Ordinal);

    /// <param name="commit">Commits one round of the key's items, in arrival order.</param>
    public async Task AddAsync(string key, TItem item, Func<IReadOnlyList<TItem>, Task> commit, CancellationToken cancellationToken)
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

    private async Task CommitRoundsAsync(string key, Batch batch, Func<IReadOnlyList<TItem>, Task> commit)
    {
        while (true)
        {
            List<Pending> round;
            lock (batch)
            {
                if (batch.Items.Count == 0)
                {
                    batch.Committing = false;
                    _batches.TryRemove(new KeyValuePair<string, Batch>(key, batch));
                    return;
                }

                round = [.. batch.Items];
                batch.Items.Clear();
            }

            try
            {
                await commit(round.ConvertAll(p => p.Item)).ConfigureAwait(false);
                round.ForEach(p => p.Committed.TrySetResult());
            }
#pragma warning disable CA1031 // handed to every caller of the round, who retries
            catch (Exception e)
#pragma warning restore CA1031
            {
                round.ForEach(p => p.Committed.TrySetException(e));
            }
        }
    }

    private sealed class Pending(TItem item)
    {
        public TItem Item { get; } = item;

        public TaskCompletionSource Committed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>The key's items not yet committed, and whether a caller is committing them.</summary>
    private sealed class Batch
    {
        public List<Pending> Items { get; } = [];

        public bool Committing { get; set; }
    }
}
