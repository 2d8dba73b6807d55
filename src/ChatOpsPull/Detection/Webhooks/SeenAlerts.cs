namespace ChatOpsPull.Detection.Webhooks;

/// <summary>
/// The most recent alert deliveries, by key, so a re-send is not delivered again. Bounded: past the capacity the
/// oldest keys are forgotten (a forgotten re-send is delivered again; the incident engine is idempotent too).
/// </summary>
public sealed class SeenAlerts
{
    private readonly int _capacity;
    private readonly HashSet<string> _keys;
    private readonly Queue<string> _order;
    private readonly Lock _lock = new();

    public SeenAlerts(int capacity)
    {
        _capacity = capacity;
        _keys = new HashSet<string>(Math.Min(capacity, 4096), StringComparer.Ordinal);
        _order = new Queue<string>(Math.Min(capacity, 4096));
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _keys.Count;
            }
        }
    }

    public bool Contains(string key)
    {
        if (_capacity == 0)
        {
            return false;
        }

        lock (_lock)
        {
            return _keys.Contains(key);
        }
    }

    /// <summary>Remembers a key after its alert was delivered.</summary>
    public void Add(string key)
    {
        if (_capacity == 0)
        {
            return;
        }

        lock (_lock)
        {
            if (!_keys.Add(key))
            {
                return;
            }

            _order.Enqueue(key);
            while (_order.Count > _capacity)
            {
                _keys.Remove(_order.Dequeue());
            }
        }
    }
}
