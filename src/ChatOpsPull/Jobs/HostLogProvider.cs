using Hangfire.Logging;
using Hangfire.AspNetCore;
using HangfireLogLevel = Hangfire.Logging.LogLevel;

namespace ChatOpsPull.Jobs;

/// <summary>
/// Hangfire's log provider is process-wide (a static), while logger factories belong to hosts. When one process runs
/// several hosts one after another (tests, the CLI's verbs), a host may ask Hangfire for a logger while the static
/// still points at an earlier host's factory that is already disposed. This provider writes through the factory while
/// it lives and drops the line after, instead of failing the caller.
/// </summary>
internal sealed class HostLogProvider(ILoggerFactory loggerFactory) : ILogProvider
{
    private readonly AspNetCoreLogProvider _inner = new(loggerFactory);

    public ILog GetLogger(string name)
    {
        try
        {
            return new SafeLog(_inner.GetLogger(name));
        }
        catch (ObjectDisposedException)
        {
            return SafeLog.Nothing;
        }
    }

    private sealed class SafeLog(ILog? inner) : ILog
    {
        public static readonly SafeLog Nothing = new(null);

        public bool Log(HangfireLogLevel logLevel, Func<string>? messageFunc, Exception? exception = null)
        {
            if (inner is null)
            {
                return false;
            }

            try
            {
                return inner.Log(logLevel, messageFunc, exception);
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }
    }
}
