"""Edge agents that run on a Raspberry Pi: gate, kiosk and room sensor.

Each agent is built from gpiozero devices and a camera / card-reader source
passed in from outside, so tests and simulators run the very same code on
gpiozero's ``MockFactory`` pins and synthesised camera frames.
"""
