<#
.SYNOPSIS
    Installs the labweb rig agent on a Windows rig PC so it starts at boot, without anyone logged in.

.DESCRIPTION
    Runs `labweb-rig run --config <Config>` as a Windows service through NSSM (https://nssm.cc) when nssm.exe is
    on PATH or given with -Nssm, else as a Scheduled Task at boot. Either way it restarts the agent if it exits,
    and writes its log next to the configuration.

    Prerequisites (README "Deploying"): 64-bit Windows 10/11 or Server 2019/2022, Python 3.11-3.13 from python.org
    (64-bit, "for all users"), and a virtual environment with labweb installed, e.g.
        py -3.12 -m venv C:\labweb\venv
        C:\labweb\venv\Scripts\pip install labweb   (or the wheel / a checkout of this repository)
    and the rig's C:\labweb\rig.yaml with `token_file:` and `state_dir:` (e.g. C:\labweb\state) set.

    Run from an elevated PowerShell:
        powershell -ExecutionPolicy Bypass -File install-agent.ps1 -Config C:\labweb\rig.yaml
    Remove it again with -Uninstall.

.PARAMETER Config      the rig's YAML configuration
.PARAMETER Venv        the virtual environment labweb is installed in
.PARAMETER Name        the service / task name
.PARAMETER Credential  the account the agent runs as (default: LocalSystem for NSSM, SYSTEM for the task); give one
                       (Get-Credential LAB\rig-agent) that can write to the server share (remote_subjects):
                       LocalSystem reaches a share as the computer's account (LAB\RIG-PC$), not as a person.
.PARAMETER Nssm        path to nssm.exe (default: found on PATH)
.PARAMETER ScheduledTask  use a Scheduled Task even when NSSM is there
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Config,
    [string]$Venv = "C:\labweb\venv",
    [string]$Name = "labweb-rig",
    [System.Management.Automation.PSCredential]$Credential = $null,
    [string]$Nssm = "",
    [switch]$ScheduledTask,
    [switch]$Uninstall
)
$ErrorActionPreference = "Stop"

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw "Run this from an elevated PowerShell (Run as administrator)."
}
if (-not $Nssm) {
    $found = Get-Command nssm.exe -ErrorAction SilentlyContinue
    if ($found) { $Nssm = $found.Source }
}
$useNssm = $Nssm -and -not $ScheduledTask

if ($Uninstall) {
    if (Get-Service -Name $Name -ErrorAction SilentlyContinue) {
        if ($Nssm) { & $Nssm stop $Name; & $Nssm remove $Name confirm } else { Stop-Service $Name; sc.exe delete $Name }
    }
    if (Get-ScheduledTask -TaskName $Name -ErrorAction SilentlyContinue) {
        Stop-ScheduledTask -TaskName $Name
        Unregister-ScheduledTask -TaskName $Name -Confirm:$false
    }
    Write-Host "$Name removed."
    return
}

$Config = (Resolve-Path $Config).Path
$exe = Join-Path $Venv "Scripts\labweb-rig.exe"
if (-not (Test-Path $exe)) { throw "$exe not found: install labweb into $Venv first." }
# Check the configuration now, not at the next boot: unknown keys and a missing token file are errors here.
& (Join-Path $Venv "Scripts\python.exe") -c "import sys; from pathlib import Path; from rigs.config import config_load; config_load(Path(sys.argv[1]))" $Config
if ($LASTEXITCODE -ne 0) { throw "$Config is not a valid rig configuration (see the message above)." }
$logDir = Split-Path $Config -Parent
$log = Join-Path $logDir "labweb-rig.log"

if ($useNssm) {
    & $Nssm install $Name $exe run --config $Config
    & $Nssm set $Name DisplayName "labweb rig agent"
    & $Nssm set $Name Description "Reports this rig to the labweb dashboard and obeys its commands."
    & $Nssm set $Name AppDirectory $logDir
    & $Nssm set $Name Start SERVICE_AUTO_START
    & $Nssm set $Name AppStdout $log
    & $Nssm set $Name AppStderr $log
    & $Nssm set $Name AppRotateFiles 1
    & $Nssm set $Name AppRotateBytes 10000000
    # Stopping: NSSM sends Ctrl-C first (the agent ends a spool series cleanly), then waits before killing it.
    & $Nssm set $Name AppStopMethodConsole 15000
    & $Nssm set $Name AppExit Default Restart
    & $Nssm set $Name AppRestartDelay 5000
    if ($Credential) {
        & $Nssm set $Name ObjectName $Credential.UserName $Credential.GetNetworkCredential().Password
    }
    & $Nssm start $Name
    Write-Host "Installed the Windows service '$Name' (NSSM). Log: $log"
} else {
    # A Scheduled Task at boot, as SYSTEM (or -Credential), restarted every minute if it stops, no time limit.
    $action = New-ScheduledTaskAction -Execute "cmd.exe" `
        -Argument "/c `"`"$exe`" run --config `"$Config`" >> `"$log`" 2>&1`"" -WorkingDirectory $logDir
    $trigger = New-ScheduledTaskTrigger -AtStartup
    $settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries `
        -ExecutionTimeLimit ([TimeSpan]::Zero) -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) `
        -StartWhenAvailable -MultipleInstances IgnoreNew
    if ($Credential) {
        Register-ScheduledTask -TaskName $Name -Action $action -Trigger $trigger -Settings $settings `
            -User $Credential.UserName -Password $Credential.GetNetworkCredential().Password -RunLevel Highest -Force | Out-Null
    } else {
        $system = New-ScheduledTaskPrincipal -UserId "SYSTEM" -LogonType ServiceAccount -RunLevel Highest
        Register-ScheduledTask -TaskName $Name -Action $action -Trigger $trigger -Settings $settings `
            -Principal $system -Force | Out-Null
    }
    Start-ScheduledTask -TaskName $Name
    Write-Host "Installed the Scheduled Task '$Name' (at boot). Log: $log"
}
