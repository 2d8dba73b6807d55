using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace ChatOpsPull.Tests.Infrastructure;

/// <summary>
/// A real server from Debian's packages (docker-registry, postgres, alertmanager …) started by a fixture,
/// with its output captured for failure messages and stopped by PID.
/// </summary>
public sealed class ExternalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ExternalProcess(Process process)
    {
        _process = process;
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <param name="unset">Variables of this process's environment the child must not inherit.</param>
    public static ExternalProcess Start(string fileName, IEnumerable<string> arguments, string? workingDirectory = null, IDictionary<string, string>? environment = null, IEnumerable<string>? unset = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var key in unset ?? [])
        {
            info.Environment.Remove(key);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var result = new ExternalProcess(process);
        process.OutputDataReceived += (_, e) => result.Append(e.Data);
        process.ErrorDataReceived += (_, e) => result.Append(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"{fileName} did not start");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    /// <summary>Runs a command to completion; throws with its output when it fails.</summary>
    public static async Task<string> RunAsync(string fileName, IEnumerable<string> arguments, string? workingDirectory = null, TimeSpan? timeout = null, IDictionary<string, string>? environment = null)
    {
        await using var process = Start(fileName, arguments, workingDirectory, environment);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        await process._process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        if (process._process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} exited {process._process.ExitCode}:\n{process.Output}");
        }

        return process.Output;
    }

    /// <summary>
    /// Runs a command to completion and returns its exit code with standard output and standard error kept apart
    /// (for a client whose output is the thing under test). <paramref name="environment"/> values that are null remove
    /// the variable. Throws with what it printed when it does not end within <paramref name="timeout"/>.
    /// </summary>
    public static async Task<CommandResult> CaptureAsync(string fileName, IEnumerable<string> arguments, IDictionary<string, string?>? environment = null, TimeSpan? timeout = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        using var process = new Process { StartInfo = info };
        if (!process.Start())
        {
            throw new InvalidOperationException($"{fileName} did not start");
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().ConfigureAwait(false);
            throw new TimeoutException($"{fileName} {string.Join(' ', info.ArgumentList)} did not exit within {(timeout ?? TimeSpan.FromMinutes(1)).TotalSeconds} s:\n{await stdout.ConfigureAwait(false)}\n{await stderr.ConfigureAwait(false)}");
        }

        return new CommandResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    /// <summary>Waits for the process to end by itself and returns its exit code; throws with its output after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{_process.StartInfo.FileName} did not exit within {timeout.TotalSeconds} s:\n{Output}");
        }

        return _process.ExitCode;
    }

    /// <summary>
    /// Starts a server (<paramref name="start"/> is given the port to put in its command line or configuration) on a probed
    /// free port and waits until it listens. Another process can take a probed port before the server binds it; when the
    /// server then exits saying the address is in use, a new port is probed and the server started again.
    /// </summary>
    public static async Task<(ExternalProcess Process, int Port)> StartOnFreePortAsync(Func<int, Task<ExternalProcess>> start, TimeSpan? timeout = null, int attempts = 5)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Next();
            var process = await start(port).ConfigureAwait(false);
            try
            {
                await process.WaitForPortAsync(port, timeout).ConfigureAwait(false);
                if (!process.HasExited)
                {
                    return (process, port);
                }

                // Something else answered on the port, and this server has already given up on it.
                throw new InvalidOperationException($"{process._process.StartInfo.FileName} exited after port {port} answered:\n{process.Output}");
            }
            catch (InvalidOperationException) when (attempt < attempts && process.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await process.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits until something accepts TCP connections on the port, or the process dies.</summary>
    public async Task WaitForPortAsync(int port, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{_process.StartInfo.FileName} exited with {_process.ExitCode} before listening on {port}:\n{Output}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port).ConfigureAwait(false);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
        }

        throw new TimeoutException($"{_process.StartInfo.FileName} did not listen on {port}:\n{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().ConfigureAwait(false);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}

/// <summary>How a command ended and what it printed on each stream.</summary>
public sealed record CommandResult(int ExitCode, string StdOut, string StdErr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
}
