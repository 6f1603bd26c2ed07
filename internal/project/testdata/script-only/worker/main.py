def run():
    print("working")
