"""What a survey is and how one is answered: the survey language, its loaders and the conversation engine.

Pure: nothing here touches the network, a database or the clock.
"""
