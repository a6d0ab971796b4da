"""The clock's way in: jobs that ask the core what is due and hand it to delivery.

Empty until the clock issue (reminders, 双月调度 notices) lands; the foundation sends
nothing on a schedule.
"""
