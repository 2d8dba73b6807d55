using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

namespace ChatOpsPull.Bench;

/// <summary>
/// What the JIT compiled while it listened, from the runtime's own method-jitting and method-load events: how many
/// methods per optimization tier, which code they were (the bot's or the bench's own: the driver and the stand-ins in
/// ChatOpsPull.Bench and ChatOpsPull.Simulation), and why each was compiled although the bot ships ReadyToRun: a first
/// call whose code is not in any ReadyToRun image (a generic instantiation over our types, which crossgen2 cannot
/// precompile across the version bubble; framework generics over framework types the framework's image does not hold;
/// ReadyToRun code the runtime rejected), a dynamic method emitted at run time (Dapper materializers, compiled regexes,
/// expression trees, IL stubs), or tiering (hot precompiled code recompiled instrumented for dynamic PGO, then
/// optimized at tier 1). With CHATOPSPULL_BENCH_JIT_LOG=path it writes every method (tab separated, first the ms since the probe started when it was compiled) to that file.
/// </summary>
internal sealed class JitProbe : EventListener
{
    private const EventKeywords JitKeyword = (EventKeywords)0x10;

    // The runtime's JitOptimizationTier (eventtrace: 3 bits at bit 7 of MethodFlags). ReadyToRun code is not jitted and
    // sends no such event; "instrumented" is tier 0 with PGO probes, "tier1-instrumented" precompiled code that turned
    // hot recompiled with probes (dynamic PGO) before its tier-1 recompile.
    private static readonly string[] Tiers = ["unknown", "min-opt", "optimized", "tier0", "tier1", "tier1-osr", "tier0-instrumented", "tier1-instrumented"];
    private const uint DynamicMethod = 0x1, SharedGenericCode = 0x4, ReadyToRunRejected = 0x40;

    private readonly ConcurrentDictionary<string, int> _byTier = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _coldByNamespace = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Cause, string Owner), (int Methods, double Ms)> _byCause = new();
    private readonly ConcurrentDictionary<string, (int Methods, double Ms)> _tierUpsByLibrary = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(ulong Method, int Thread), DateTime> _started = new();
    private readonly ConcurrentQueue<string> _log = new();
    private readonly string? _logPath = Environment.GetEnvironmentVariable("CHATOPSPULL_BENCH_JIT_LOG");
    private volatile bool _listening;
    private DateTime _startedAt;

    public void Start()
    {
        _byTier.Clear();
        _coldByNamespace.Clear();
        _byCause.Clear();
        _tierUpsByLibrary.Clear();
        _started.Clear();
        _log.Clear();
        // The probe's own generic instantiations compiled now, not in the storm it measures.
        var key = (0UL, 0);
        _started[key] = DateTime.UtcNow;
        _started.TryRemove(key, out _);
        _byCause.AddOrUpdate(("warm", "warm"), (1, 0), (_, t) => (t.Methods + 1, t.Ms));
        _byCause.AddOrUpdate(("warm", "warm"), (1, 0), (_, t) => (t.Methods + 1, t.Ms));
        _byCause.Clear();
        _tierUpsByLibrary.AddOrUpdate(Library("either", "System"), (1, 0), (_, t) => (t.Methods + 1, t.Ms));
        _tierUpsByLibrary.AddOrUpdate(Library("either", "System"), (1, 0), (_, t) => (t.Methods + 1, t.Ms));
        _tierUpsByLibrary.Clear();
        _startedAt = DateTime.UtcNow;
        _listening = true;
    }

    public void Stop() => _listening = false;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, JitKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_listening || eventData.EventName is null || eventData.PayloadNames is null || eventData.Payload is null)
        {
            return;
        }

        if (eventData.EventName.StartsWith("MethodJittingStarted", StringComparison.Ordinal))
        {
            _started[(Number(eventData, "MethodID"), Environment.CurrentManagedThreadId)] = eventData.TimeStamp;
            return;
        }

        if (!eventData.EventName.StartsWith("MethodLoadVerbose", StringComparison.Ordinal))
        {
            return;
        }

        var flags = (uint)Number(eventData, "MethodFlags");
        var tier = (int)((flags >> 7) & 0x7);
        var tierName = Tiers[tier];
        var ns = Text(eventData, "MethodNamespace");
        var name = Text(eventData, "MethodName");
        var signature = Text(eventData, "MethodSignature");
        var ms = _started.TryRemove((Number(eventData, "MethodID"), Environment.CurrentManagedThreadId), out var began)
            ? (eventData.TimeStamp - began).TotalMilliseconds
            : 0;
        var owner = Owner(ns, name, signature);
        var cause = Cause(tierName, flags, ns, name, signature);
        _byTier.AddOrUpdate(tierName, 1, (_, n) => n + 1);
        _byCause.AddOrUpdate((cause, owner), (1, ms), (_, t) => (t.Methods + 1, t.Ms + ms));
        if (tierName is "tier1-instrumented" or "tier0-instrumented" or "tier1" or "tier1-osr")
        {
            _tierUpsByLibrary.AddOrUpdate(Library(owner, ns), (1, ms), (_, t) => (t.Methods + 1, t.Ms + ms));
        }

        if (tierName is "tier0" or "tier0-instrumented" or "min-opt")
        {
            var dot = ns.IndexOf('.', StringComparison.Ordinal);
            var second = dot < 0 ? -1 : ns.IndexOf('.', dot + 1);
            var prefix = second < 0 ? ns : ns[..second];
            _coldByNamespace.AddOrUpdate(prefix.Split('[', '`')[0], 1, (_, n) => n + 1);
        }

        if (_logPath is not null)
        {
            _log.Enqueue(string.Join('\t', (eventData.TimeStamp.ToUniversalTime() - _startedAt).TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture), tierName, cause, owner, flags.ToString("x", CultureInfo.InvariantCulture), ms.ToString("0.00", CultureInfo.InvariantCulture), ns + "::" + name + " " + signature));
        }
    }

    /// <summary>
    /// Whose code a method is, by name: the bench's (driver, Kubernetes API stand-in, registry helpers, their generic
    /// instantiations), the bot's (ChatOpsPull, and framework generics instantiated over its types), or framework and
    /// package code over framework types only, which either could have called (not attributable by name).
    /// </summary>
    internal static string Owner(string ns, string name, string signature)
    {
        var full = ns + "::" + name + signature;
        if (full.Contains("ChatOpsPull.Bench", StringComparison.Ordinal) || full.Contains("ChatOpsPull.Simulation", StringComparison.Ordinal) || full.Contains("ChatOpsPull.Tests", StringComparison.Ordinal))
        {
            return "bench";
        }

        return full.Contains("ChatOpsPull", StringComparison.Ordinal) ? "bot" : "either";
    }

    /// <summary>
    /// Whose a recompile of hot code is, by library where the name alone says "either": the start's own machinery
    /// (dependency injection, configuration and options, reflection and emit, regex construction, the kubeconfig's YAML,
    /// expression trees), which a storm calls little and pays only because the runtime held its recompiles back while the
    /// start kept compiling; the bot's client libraries (HttpClient, SQLite, Npgsql, Dapper, Polly, the Kubernetes client,
    /// Prometheus, Hangfire); the API stand-in's server (Kestrel, ASP.NET Core, pipelines: in the bench only, the bot
    /// serves no request during the storm); and the shared base library (collections, tasks, JSON, text), which both call.
    /// </summary>
    internal static string Library(string owner, string ns) => owner switch
    {
        "bot" => "bot's own code",
        "bench" => "bench's own code",
        _ when StartsWithAny(ns, StartUpMachinery) => "start-up machinery (DI, configuration, reflection, regex, YAML, expressions)",
        _ when StartsWithAny(ns, BotLibraries) => "bot's libraries (HttpClient, SQLite, Npgsql, Dapper, Polly, k8s, Prometheus, Hangfire)",
        _ when StartsWithAny(ns, StandInServer) => "stand-in's server (Kestrel, ASP.NET Core, pipelines)",
        _ => "shared base library (collections, tasks, JSON, text)",
    };

    private static bool StartsWithAny(string ns, string[] prefixes) => prefixes.Any(p => ns.StartsWith(p, StringComparison.Ordinal));

    private static readonly string[] StartUpMachinery = ["Microsoft.Extensions.DependencyInjection", "Microsoft.Extensions.Configuration", "Microsoft.Extensions.Options", "Microsoft.Extensions.Hosting", "System.Reflection", "System.RuntimeType", "System.Text.RegularExpressions", "YamlDotNet", "System.ComponentModel", "System.IO.Enumeration", "System.Linq.Expressions", "System.Dynamic", "Npgsql.NpgsqlConnectionStringBuilder", "System.Attribute", "System.ModuleHandle", "System.Delegate"];

    private static readonly string[] BotLibraries = ["System.Net.Http", "Microsoft.Data.Sqlite", "SQLitePCL", "SQLite.", "Npgsql", "Dapper", "Polly", "k8s", "Prometheus", "Hangfire"];

    private static readonly string[] StandInServer = ["Microsoft.AspNetCore", "System.IO.Pipelines", "Microsoft.Extensions.Primitives"];

    internal static string Cause(string tier, uint flags, string ns, string name, string signature)
    {
        if ((flags & DynamicMethod) != 0)
        {
            return name.StartsWith("IL_STUB", StringComparison.Ordinal) ? "dynamic: IL stub"
                : name.Contains("Regex", StringComparison.Ordinal) || ns.Contains("Regex", StringComparison.Ordinal) ? "dynamic: compiled regex"
                : name.StartsWith("lambda_method", StringComparison.Ordinal) ? "dynamic: expression tree"
                : name.StartsWith("ResolveService", StringComparison.Ordinal) ? "dynamic: dependency injection resolver"
                : name.EndsWith("Getter", StringComparison.Ordinal) || name.EndsWith("Setter", StringComparison.Ordinal) || name.StartsWith("InvokeStub_", StringComparison.Ordinal) || name == ".ctor" ? "dynamic: reflection-emitted accessors (System.Text.Json, reflection invoke)"
                : name.StartsWith("Deserialize", StringComparison.Ordinal) || name.StartsWith("ParamInfo", StringComparison.Ordinal) || name.Contains("Dapper", StringComparison.Ordinal) ? "dynamic: Dapper"
                : "dynamic: other";
        }

        return tier switch
        {
            "tier0-instrumented" or "tier1-instrumented" => "PGO instrumentation of hot code",
            "tier1" or "tier1-osr" => "tier-1 recompile of hot code",
            "optimized" => "optimized at once (not tiered)",
            _ when (flags & ReadyToRunRejected) != 0 => "first call: ReadyToRun code rejected",
            _ when !ns.StartsWith("ChatOpsPull", StringComparison.Ordinal) && ns.Contains("ChatOpsPull", StringComparison.Ordinal) => "first call: framework/package generic over our types",
            _ when signature.Contains("generic ", StringComparison.Ordinal) => "first call: generic method (its type arguments are not in the event)",
            _ when ns.StartsWith("ChatOpsPull", StringComparison.Ordinal) && ns.Contains('[', StringComparison.Ordinal) => "first call: our generic code, instantiation not precompiled",
            _ when ns.StartsWith("ChatOpsPull", StringComparison.Ordinal) => "first call: our code not precompiled",
            _ when ns.Contains('[', StringComparison.Ordinal) || (flags & SharedGenericCode) != 0 => "first call: generic over framework types, not in any image",
            _ => "first call: non-generic framework/package code not precompiled",
        };
    }

    public string Report()
    {
        var text = new StringBuilder();
        text.Append("  JIT while the storm ran, methods per tier: ").AppendJoin(", ", _byTier.OrderByDescending(t => t.Value).Select(t => $"{t.Key} {t.Value}")).AppendLine();
        text.Append("    first-call compiles by type prefix: ").AppendJoin(", ", _coldByNamespace.OrderByDescending(t => t.Value).Take(12).Select(t => $"{t.Key} {t.Value}")).AppendLine();
        var owners = _byCause.GroupBy(c => c.Key.Owner).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Key} {g.Sum(c => c.Value.Methods)} ({g.Sum(c => c.Value.Ms):0} ms)"));
        text.Append("    JIT by owner (bot: ChatOpsPull and generics over its types; bench: driver and stand-ins; either: framework code over framework types): ").AppendJoin(", ", owners).AppendLine();
        text.AppendLine("    JIT by cause, methods (ms): bot / bench / either");
        foreach (var cause in _byCause.GroupBy(c => c.Key.Cause).OrderByDescending(g => g.Sum(c => c.Value.Methods)))
        {
            string Of(string owner) => _byCause.TryGetValue((cause.Key, owner), out var t) ? string.Create(CultureInfo.InvariantCulture, $"{t.Methods} ({t.Ms:0})") : "0";
            text.AppendLine(CultureInfo.InvariantCulture, $"      {cause.Key,-62} {Of("bot")} / {Of("bench")} / {Of("either")}");
        }

        text.Append("    recompiles of hot code (PGO instrumentation and tier 1) by library, methods (ms): ")
            .AppendJoin("; ", _tierUpsByLibrary.OrderByDescending(t => t.Value.Methods).Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Key} {t.Value.Methods} ({t.Value.Ms:0})")))
            .AppendLine();
        if (_logPath is not null)
        {
            File.WriteAllLines(_logPath, _log);
            text.AppendLine(CultureInfo.InvariantCulture, $"    every method compiled: {_logPath}");
        }

        return text.ToString().TrimEnd();
    }

    private static ulong Number(EventWrittenEventArgs e, string field) =>
        Convert.ToUInt64(e.Payload![e.PayloadNames!.IndexOf(field)], CultureInfo.InvariantCulture);

    private static string Text(EventWrittenEventArgs e, string field)
    {
        var i = e.PayloadNames!.IndexOf(field);
        return i < 0 ? string.Empty : e.Payload![i] as string ?? string.Empty;
    }
}
